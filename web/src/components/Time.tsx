import { formatTime } from '../lib/format';
import { usePrefs } from '../lib/prefs';

/** A time from the API in the zone the user chose (local or UTC). */
export function Time({ iso }: { iso: string | null | undefined }) {
  const { timeZone } = usePrefs();
  return <time dateTime={iso ?? undefined}>{formatTime(iso, timeZone)}</time>;
}
