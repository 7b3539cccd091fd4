import { Time } from '../../components/Time';
import { useSecurityEvents } from './api';

/** Logins, key changes, limit changes, orders: newest first, with "load more". */
export function SecurityEvents() {
  const events = useSecurityEvents();
  const items = events.data?.pages.flatMap((page) => page.items) ?? [];
  return (
    <section className="card" aria-labelledby="events-title">
      <h2 id="events-title">Security events</h2>
      <table className="table">
        <thead>
          <tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">From</th><th scope="col">Detail</th></tr>
        </thead>
        <tbody>
          {items.map((event) => (
            <tr key={event.id}>
              <td><Time iso={event.created_at} /></td>
              <td>{event.type.replaceAll('_', ' ')}</td>
              <td>{event.ip ?? '—'}</td>
              <td>{event.detail ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {events.hasNextPage && (
        <button type="button" onClick={() => void events.fetchNextPage()} disabled={events.isFetchingNextPage}>Load more</button>
      )}
    </section>
  );
}
