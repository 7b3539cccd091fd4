/** The rules under each ticket field, in words: what the filters allow before anything is typed. */
import { formatDecimal } from '../../lib/format';
import { cmp, dec, toShort } from '../../lib/decimal';
import { percentBand, type OrderType, type Side, type SymbolFilters } from './filters';

const on = (value: string) => value !== '' && !/^0*\.?0*$/.test(value);
const f = (value: string) => formatDecimal(value);

/** Tick, price range, and (a limit price) the band the last price allows the side. */
export function priceHint(filters: SymbolFilters, side?: Side, market: string | null = null): string {
  const parts = [`Tick ${f(filters.tick_size)}`];
  if (side) {
    const { low, high } = percentBand(side, filters, market);
    if (low || high) {
      const range = `${low ? f(toShort(low)) : '…'} – ${high ? f(toShort(high)) : '…'}`;
      parts.push(`${range} for a ${side === 'BUY' ? 'buy' : 'sell'} at the last price`);
      return parts.join(', ');
    }
  }
  if (on(filters.max_price)) parts.push(`${f(filters.min_price)} – ${f(filters.max_price)}`);
  return parts.join(', ');
}

/** Step, minimum and maximum quantity; a market order's own lot where the exchange sets one. */
export function quantityHint(filters: SymbolFilters, type: OrderType): string {
  const parts = [`Step ${f(filters.step_size)}`, `min ${f(filters.min_qty)}`];
  const marketMax = type === 'MARKET' && on(filters.market_max_qty) ? filters.market_max_qty : null;
  const limits = [on(filters.max_qty) ? filters.max_qty : null, marketMax].filter((v): v is string => v !== null);
  if (limits.length > 0) {
    parts.push(`max ${f(limits.reduce((a, b) => (cmp(dec(a), dec(b)) <= 0 ? a : b)))}`);
  }
  if (type === 'MARKET' && on(filters.market_step_size)) parts.push(`market step ${f(filters.market_step_size)}`);
  if (type === 'MARKET' && on(filters.market_min_qty)) parts.push(`market min ${f(filters.market_min_qty)}`);
  return parts.join(', ');
}

/** A quote amount's minimum (where it binds market orders) and decimals. */
export function quoteHint(filters: SymbolFilters): string {
  const parts: string[] = [];
  if (filters.apply_min_to_market && on(filters.min_notional)) parts.push(`Minimum ${f(filters.min_notional)}`);
  if (filters.apply_max_to_market && on(filters.max_notional)) parts.push(`maximum ${f(filters.max_notional)}`);
  parts.push(`up to ${filters.quote_precision} decimals`);
  return parts.join(', ');
}
