/**
 * A small exact decimal: a bigint of units and a scale (number of decimals).
 * Money and quantities stay decimal strings from the API to the screen; the order ticket's maths
 * (steps, ticks, notionals) runs here, never through floats.
 */
export interface Dec {
  readonly units: bigint;
  readonly scale: number;
}

const PLAIN = /^\s*(\d*)(?:\.(\d*))?\s*$/;

/** A non-negative decimal from user input or the API ("0.00100000", ".5", "12"); null if not one. */
export function parseDecimal(text: string | null | undefined): Dec | null {
  if (text == null) return null;
  const match = PLAIN.exec(text);
  if (!match) return null;
  const whole = match[1] ?? '';
  const frac = match[2] ?? '';
  if (whole === '' && frac === '') return null;
  return { units: BigInt((whole || '0') + frac), scale: frac.length };
}

/** Like parseDecimal, for values the API guarantees (throws on anything else). */
export function dec(text: string): Dec {
  const value = parseDecimal(text);
  if (!value) throw new Error(`not a decimal: ${text}`);
  return value;
}

function rescale(value: Dec, scale: number): bigint {
  return value.units * 10n ** BigInt(scale - value.scale);
}

function aligned(a: Dec, b: Dec): [bigint, bigint, number] {
  const scale = Math.max(a.scale, b.scale);
  return [rescale(a, scale), rescale(b, scale), scale];
}

export function cmp(a: Dec, b: Dec): -1 | 0 | 1 {
  const [x, y] = aligned(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function isZero(a: Dec): boolean {
  return a.units === 0n;
}

export function add(a: Dec, b: Dec): Dec {
  const [x, y, scale] = aligned(a, b);
  return { units: x + y, scale };
}

export function sub(a: Dec, b: Dec): Dec {
  const [x, y, scale] = aligned(a, b);
  return { units: x - y, scale };
}

export function mul(a: Dec, b: Dec): Dec {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

export type Rounding = 'floor' | 'ceil' | 'nearest';

function divide(n: bigint, d: bigint, rounding: Rounding): bigint {
  const q = n / d;
  const r = n % d;
  if (r === 0n) return q;
  const negative = n < 0n !== d < 0n;
  if (rounding === 'floor') return negative ? q - 1n : q;
  if (rounding === 'ceil') return negative ? q : q + 1n;
  const twice = 2n * (r < 0n ? -r : r);
  const abs = d < 0n ? -d : d;
  return twice >= abs ? (negative ? q - 1n : q + 1n) : q;
}

/** a / b with `scale` decimals, rounded as asked (floor by default). */
export function div(a: Dec, b: Dec, scale: number, rounding: Rounding = 'floor'): Dec {
  if (b.units === 0n) throw new RangeError('division by zero');
  // a.units/10^a.scale / (b.units/10^b.scale) * 10^scale
  const n = a.units * 10n ** BigInt(scale + b.scale);
  const d = b.units * 10n ** BigInt(a.scale);
  return { units: divide(n, d, rounding), scale };
}

/** `value` as a whole number of `step`s (a step size or tick size), rounded as asked. */
export function toStep(value: Dec, step: Dec, rounding: Rounding): Dec {
  if (step.units === 0n) return value;
  const [x, s, scale] = aligned(value, step);
  return { units: divide(x, s, rounding) * s, scale };
}

/** Whether `value` is a whole number of `step`s. */
export function isMultiple(value: Dec, step: Dec): boolean {
  if (step.units === 0n) return true;
  const [x, s] = aligned(value, step);
  return x % s === 0n;
}

/** How many decimals a step or tick has once its trailing zeros go ("0.00100000" -> 3). */
export function decimalsOf(step: Dec): number {
  return normalize(step).scale;
}

/** The same value without trailing zeros. */
export function normalize(value: Dec): Dec {
  let { units, scale } = value;
  while (scale > 0 && units % 10n === 0n) {
    units /= 10n;
    scale -= 1;
  }
  return { units, scale };
}

/** A plain decimal string with exactly `scale` decimals (or the value's own). */
export function toPlain(value: Dec, scale: number = value.scale): string {
  const units = scale >= value.scale ? rescale(value, scale) : divide(value.units, 10n ** BigInt(value.scale - scale), 'nearest');
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const frac = scale > 0 ? '.' + digits.slice(digits.length - scale) : '';
  return (negative ? '-' : '') + whole + frac;
}

/** The shortest plain string ("0.00100000" -> "0.001"). */
export function toShort(value: Dec): string {
  return toPlain(normalize(value));
}

export const ZERO: Dec = { units: 0n, scale: 0 };

/** `value` moved onto the grid `origin + k * step` (the exchange's grids start at the minimum). */
export function onGrid(value: Dec, origin: Dec, step: Dec, rounding: Rounding): Dec {
  return add(toStep(sub(value, origin), step, rounding), origin);
}

/** Whether `value` lies on the grid `origin + k * step` (always, for a disabled step of 0). */
export function isOnGrid(value: Dec, origin: Dec, step: Dec): boolean {
  return isMultiple(sub(value, origin), step);
}

export function max(a: Dec, b: Dec): Dec {
  return cmp(a, b) >= 0 ? a : b;
}

export function min(a: Dec, b: Dec): Dec {
  return cmp(a, b) <= 0 ? a : b;
}

/** One unit of the `decimals`-th place: 2 -> 0.01. */
export function unitOf(decimals: number): Dec {
  return { units: 1n, scale: decimals };
}
