import { useSearch } from 'wouter';
import { NoteForm } from '../features/journal/NoteForm';
import { NoteList } from '../features/journal/NoteList';

export default function JournalPage() {
  const tradeId = new URLSearchParams(useSearch()).get('trade');
  return (
    <main id="main" className="page grid-journal">
      <NoteForm tradeId={tradeId} />
      <NoteList />
    </main>
  );
}
