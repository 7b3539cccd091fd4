import { useMemo, useState } from 'react';
import { Link } from 'wouter';
import { Time } from '../../components/Time';
import { useDebounced } from '../../lib/useDebounced';
import { useDeleteNote, useNotes, useUpdateNote } from './api';

/** The journal: pinned first, then newest; filter by tag or pins, search the loaded notes. */
export function NoteList() {
  const [tag, setTag] = useState('');
  const [pinnedOnly, setPinnedOnly] = useState(false);
  const [search, setSearch] = useState('');
  const settledTag = useDebounced(tag.trim(), 300);
  const words = useDebounced(search.trim().toLowerCase(), 150);
  const notes = useNotes({ ...(settledTag ? { tag: settledTag } : {}), ...(pinnedOnly ? { pinned: true } : {}) });
  const update = useUpdateNote();
  const remove = useDeleteNote();
  const items = useMemo(() => {
    const all = notes.data?.pages.flatMap((p) => p.items) ?? [];
    return words ? all.filter((n) => `${n.title} ${n.content} ${n.tags.join(' ')}`.toLowerCase().includes(words)) : all;
  }, [notes.data, words]);

  return (
    <section className="card" aria-labelledby="notes-title">
      <h2 id="notes-title">Journal</h2>
      <div className="filters">
        <div className="field"><label htmlFor="note-search">Search</label>
          <input id="note-search" type="search" value={search} onChange={(e) => setSearch(e.target.value)} /></div>
        <div className="field"><label htmlFor="note-tag">Tag</label>
          <input id="note-tag" value={tag} onChange={(e) => setTag(e.target.value)} /></div>
        <label className="check"><input type="checkbox" checked={pinnedOnly} onChange={(e) => setPinnedOnly(e.target.checked)} /> Pinned only</label>
      </div>
      <ul className="notes">
        {items.map((note) => (
          <li key={note.id} className={`note ${note.is_pinned ? 'pinned' : ''}`} data-testid="note">
            <div className="note-head">
              <h3>{note.is_pinned && <span aria-label="Pinned">📌 </span>}{note.title}</h3>
              <span className="muted"><Time iso={note.created_at} /></span>
            </div>
            {note.content && <p className="note-body">{note.content}</p>}
            <p className="tags">
              {note.tags.map((t) => (
                <button key={t} type="button" className="tag" onClick={() => setTag(t)}>#{t}</button>
              ))}
              {note.trade_id && <Link href={`/orders?trade=${note.trade_id}`}>Linked trade</Link>}
            </p>
            <div className="actions">
              <button type="button" onClick={() => update.mutate({ id: note.id, body: { is_pinned: !note.is_pinned } })}>
                {note.is_pinned ? 'Unpin' : 'Pin'}
              </button>
              <button type="button" className="danger" onClick={() => window.confirm(`Delete “${note.title}”?`) && remove.mutate(note.id)}>
                Delete
              </button>
            </div>
          </li>
        ))}
        {notes.isSuccess && items.length === 0 && <li className="muted">No notes yet.</li>}
      </ul>
      {notes.hasNextPage && (
        <button type="button" onClick={() => void notes.fetchNextPage()} disabled={notes.isFetchingNextPage}>Load more</button>
      )}
    </section>
  );
}
