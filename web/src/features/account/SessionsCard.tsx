import { Time } from '../../components/Time';
import { FormError } from '../../components/Field';
import { mapErrors } from '../../lib/api/problem';
import { useRevokeSession, useSessions } from './api';

/** Where the account is signed in; any other session can be ended here at once. */
export function SessionsCard() {
  const sessions = useSessions();
  const revoke = useRevokeSession();
  const errors = mapErrors(revoke.error ?? sessions.error, []);
  return (
    <section className="card" aria-labelledby="sessions-title">
      <h2 id="sessions-title">Sessions</h2>
      <table className="table">
        <thead>
          <tr><th scope="col">Device</th><th scope="col">From</th><th scope="col">Signed in</th><th scope="col">Last used</th><th scope="col"><span className="sr-only">Action</span></th></tr>
        </thead>
        <tbody>
          {sessions.data?.items.map((session) => (
            <tr key={session.id} data-testid="session-row">
              <td>{session.user_agent ?? 'Unknown device'}{session.current && <strong> (this session)</strong>}</td>
              <td>{session.ip ?? '—'}</td>
              <td><Time iso={session.created_at} /></td>
              <td><Time iso={session.last_used_at} /></td>
              <td>
                {!session.current && (
                  <button type="button" className="danger" disabled={revoke.isPending}
                    onClick={() => revoke.mutate(session.id)} aria-label={`Revoke the session from ${session.ip ?? 'an unknown address'} signed in ${session.created_at}`}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <FormError message={errors.form} />
    </section>
  );
}
