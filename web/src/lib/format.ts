/** Display formatting of the API's decimal strings and times; never through floats. */
import { normalize, parseDecimal, toPlain } from './decimal';

function group(whole: string): string {
  return whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * A decimal string for the screen: thousands grouped, at least `min` and at most `max` decimals
 * (rounded half up at `max`), trailing zeros beyond `min` dropped. Signs are kept.
 */
export function formatDecimal(
  value: string | null | undefined,
  { min = 0, max = 8 }: { min?: number; max?: number } = {},
): string {
  if (value == null || value === '') return '—';
  const negative = value.trim().startsWith('-');
  const parsed = parseDecimal(negative ? value.trim().slice(1) : value);
  if (!parsed) return value;
  const rounded = normalize(parseDecimal(toPlain(parsed, Math.min(parsed.scale, max)))!);
  const text = toPlain(rounded, Math.max(rounded.scale, min));
  const [whole = '0', frac] = text.split('.');
  const body = group(whole) + (frac ? '.' + frac : '');
  return negative && /[1-9]/.test(text) ? '−' + body : body;
}

/** Money in the quote asset: two decimals at least. */
export function formatMoney(value: string | null | undefined, asset?: string): string {
  const text = formatDecimal(value, { min: 2, max: 8 });
  return asset && text !== '—' ? `${text} ${asset}` : text;
}

/** A ratio ("0.5") as a percentage ("50%"). */
export function formatPercent(ratio: string | null | undefined): string {
  if (ratio == null) return '—';
  const parsed = parseDecimal(ratio.replace(/^-/, ''));
  if (!parsed) return ratio;
  const hundred = { units: parsed.units * 100n, scale: parsed.scale };
  return `${ratio.startsWith('-') ? '−' : ''}${formatDecimal(toPlain(hundred), { max: 2 })}%`;
}

export type TimeZoneChoice = 'local' | 'utc';

/** An ISO 8601 time in the user's zone or UTC. */
export function formatTime(iso: string | null | undefined, zone: TimeZoneChoice): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(undefined, {
    dateStyle: 'short',
    timeStyle: 'medium',
    timeZone: zone === 'utc' ? 'UTC' : undefined,
  }).format(date) + (zone === 'utc' ? ' UTC' : '');
}
