import { useState, type FormEvent } from 'react';
import { Field, FormError } from '../../components/Field';
import { mapErrors } from '../../lib/api/problem';
import { useCreateNote } from './api';

const FIELDS = ['title', 'content', 'tags', 'is_pinned', 'trade_id'] as const;

/** Write a note; tags comma-separated; optionally linked to a trade (from its detail panel). */
export function NoteForm({ tradeId }: { tradeId: string | null }) {
  const create = useCreateNote();
  const [title, setTitle] = useState('');
  const [content, setContent] = useState('');
  const [tags, setTags] = useState('');
  const [pinned, setPinned] = useState(false);
  const errors = mapErrors(create.error, FIELDS);

  async function submit(event: FormEvent) {
    event.preventDefault();
    try {
      await create.mutateAsync({
        title,
        content,
        is_pinned: pinned,
        tags: tags.split(',').map((t) => t.trim()).filter(Boolean),
        ...(tradeId ? { trade_id: tradeId } : {}),
      });
      setTitle('');
      setContent('');
      setTags('');
      setPinned(false);
    } catch {
      // shown next to the fields
    }
  }

  return (
    <form className="card" onSubmit={submit} noValidate aria-labelledby="note-form-title">
      <h2 id="note-form-title">New note</h2>
      {tradeId && <p className="muted">Linked to trade <code>{tradeId.slice(0, 8)}</code></p>}
      <Field label="Title" value={title} onChange={(e) => setTitle(e.target.value)} error={errors.fields.title} />
      <div className="field">
        <label htmlFor="note-content">Note</label>
        <textarea id="note-content" rows={4} value={content} onChange={(e) => setContent(e.target.value)}
          aria-invalid={errors.fields.content ? true : undefined} />
        {errors.fields.content && <p className="field-error" role="alert">{errors.fields.content}</p>}
      </div>
      <Field label="Tags (comma-separated)" value={tags} onChange={(e) => setTags(e.target.value)} error={errors.fields.tags} />
      <label className="check">
        <input type="checkbox" checked={pinned} onChange={(e) => setPinned(e.target.checked)} /> Pin to the top
      </label>
      <FormError message={errors.form ?? errors.fields.trade_id} />
      <button type="submit" className="primary" disabled={create.isPending || !title.trim()}>Save note</button>
    </form>
  );
}
