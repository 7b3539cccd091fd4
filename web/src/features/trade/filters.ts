/**
 * A symbol's exchange filters as the order ticket applies them while the trader types: the same
 * rules, order and nearest valid values as the server's check (tradebot/exchange/filters.py), in
 * exact decimals (lib/decimal). A limit, multiplier or count of 0 means the rule is not applied.
 */
import {
  cmp,
  type Dec,
  div,
  isMultiple,
  isOnGrid,
  isZero,
  max,
  mul,
  onGrid,
  parseDecimal,
  toShort,
  toStep,
  unitOf,
} from '../../lib/decimal';
import type { Schemas } from '../../lib/api/client';

export type SymbolFilters = Schemas['SymbolPublic'];
export type OrderType = 'MARKET' | 'LIMIT' | 'STOP_LOSS_LIMIT';
export type Side = 'BUY' | 'SELL';
export type TicketField = 'quantity' | 'quote_quantity' | 'price' | 'stop_price';

export interface Issue {
  field: TicketField;
  message: string;
  /** The nearest value the filters accept, offered as a one-click fix. */
  nearest?: string;
}

/** The filters as decimals, parsed once per symbol list. */
export interface Rules {
  tick: Dec;
  minPrice: Dec;
  maxPrice: Dec;
  step: Dec;
  minQty: Dec;
  maxQty: Dec;
  marketStep: Dec;
  marketMinQty: Dec;
  marketMaxQty: Dec;
  minNotional: Dec;
  maxNotional: Dec;
  minToMarket: boolean;
  maxToMarket: boolean;
  bid: { up: Dec; down: Dec };
  ask: { up: Dec; down: Dec };
  quotePrecision: number;
  quoteAsset: string;
}

const parsed = new WeakMap<SymbolFilters, Rules>();
const ZERO: Dec = { units: 0n, scale: 0 };

/** A filter value from the API: a decimal string, or "not applied" (0) when absent. */
function value(text: string): Dec {
  return parseDecimal(text) ?? ZERO;
}

export function rulesOf(f: SymbolFilters): Rules {
  let rules = parsed.get(f);
  if (!rules) {
    rules = {
      tick: value(f.tick_size),
      minPrice: value(f.min_price),
      maxPrice: value(f.max_price),
      step: value(f.step_size),
      minQty: value(f.min_qty),
      maxQty: value(f.max_qty),
      marketStep: value(f.market_step_size),
      marketMinQty: value(f.market_min_qty),
      marketMaxQty: value(f.market_max_qty),
      minNotional: value(f.min_notional),
      maxNotional: value(f.max_notional),
      minToMarket: f.apply_min_to_market,
      maxToMarket: f.apply_max_to_market,
      bid: { up: value(f.bid_multiplier_up), down: value(f.bid_multiplier_down) },
      ask: { up: value(f.ask_multiplier_up), down: value(f.ask_multiplier_down) },
      quotePrecision: f.quote_precision,
      quoteAsset: f.quote_asset,
    };
    parsed.set(f, rules);
  }
  return rules;
}

const set = (d: Dec) => !isZero(d);
const s = toShort;

/** Text that is not yet a positive number: what is wrong with it (no value to offer). */
export function amountIssue(field: TicketField, text: string): Issue | null {
  if (text.trim() === '') return { field, message: 'Required' };
  const parsedValue = parseDecimal(text);
  if (!parsedValue) return { field, message: 'Enter a plain number such as 0.001' };
  if (isZero(parsedValue)) return { field, message: 'Must be greater than zero' };
  return null;
}

// --- prices: PRICE_FILTER and PERCENT_PRICE_BY_SIDE ------------------------------------------

/** The lowest and highest limit price PERCENT_PRICE_BY_SIDE allows a `side` at `market`, on the
 * tick grid (null where the rule is off or there is no market price). */
export function percentBand(side: Side, f: SymbolFilters, market: string | null): { low: Dec | null; high: Dec | null } {
  const r = rulesOf(f);
  const reference = parseDecimal(market);
  if (!reference || isZero(reference)) return { low: null, high: null };
  const { up, down } = side === 'BUY' ? r.bid : r.ask;
  return {
    low: set(down) ? onGrid(mul(reference, down), r.minPrice, r.tick, 'ceil') : null,
    high: set(up) ? onGrid(mul(reference, up), r.minPrice, r.tick, 'floor') : null,
  };
}

/** A price against PRICE_FILTER: within min/max price, on the tick grid that starts at min_price. */
export function checkPrice(field: 'price' | 'stop_price', text: string, f: SymbolFilters): Issue | null {
  const missing = amountIssue(field, text);
  if (missing) return missing;
  const r = rulesOf(f);
  const price = parseDecimal(text)!;
  if (set(r.minPrice) && cmp(price, r.minPrice) < 0) {
    return { field, message: `Below the minimum price ${s(r.minPrice)}`, nearest: s(r.minPrice) };
  }
  if (set(r.maxPrice) && cmp(price, r.maxPrice) > 0) {
    return { field, message: `Above the maximum price ${s(r.maxPrice)}`, nearest: s(r.maxPrice) };
  }
  if (!isOnGrid(price, r.minPrice, r.tick)) {
    // Never offer zero: the lowest price is min_price, or one tick without it.
    const nearest = max(max(onGrid(price, r.minPrice, r.tick, 'nearest'), r.minPrice), r.tick);
    return { field, message: `Must be a multiple of the tick size ${s(r.tick)}`, nearest: s(nearest) };
  }
  return null;
}

/** A limit price against PERCENT_PRICE_BY_SIDE: within the side's multipliers of `market`. */
export function checkPercentPrice(side: Side, text: string, f: SymbolFilters, market: string | null): Issue | null {
  const price = parseDecimal(text);
  const reference = parseDecimal(market);
  if (!price || !reference || isZero(reference)) return null;
  const { up, down } = side === 'BUY' ? rulesOf(f).bid : rulesOf(f).ask;
  const { low, high } = percentBand(side, f, market);
  const who = side === 'BUY' ? 'a buy' : 'a sell';
  if (high && cmp(price, mul(reference, up)) > 0) {
    return {
      field: 'price',
      message: `More than ${s(up)}× the last price ${s(reference)}, the most the exchange accepts for ${who}`,
      nearest: s(high),
    };
  }
  if (low && cmp(price, mul(reference, down)) < 0) {
    return {
      field: 'price',
      message: `Less than ${s(down)}× the last price ${s(reference)}, the least the exchange accepts for ${who}`,
      nearest: s(low),
    };
  }
  return null;
}

// --- quantities: LOT_SIZE, MARKET_LOT_SIZE -------------------------------------------------

function lotIssue(qty: Dec, low: Dec, high: Dec, step: Dec, r: Rules, market: boolean): Issue | null {
  const which = market ? ' for a market order' : '';
  if (cmp(qty, low) < 0) {
    return { field: 'quantity', message: `Below the minimum quantity ${s(low)}${which}`, nearest: s(max(low, r.minQty)) };
  }
  if (set(high) && cmp(qty, high) > 0) {
    // Offered on LOT_SIZE's grid, which every order obeys.
    const nearest = onGrid(high, r.minQty, r.step, 'floor');
    return { field: 'quantity', message: `Above the maximum quantity ${s(high)}${which}`, nearest: s(nearest) };
  }
  if (!isOnGrid(qty, low, step)) {
    const nearest = max(onGrid(qty, low, step, 'nearest'), set(low) ? low : step);
    return { field: 'quantity', message: `Must be a multiple of the step size ${s(step)}${which}`, nearest: s(nearest) };
  }
  return null;
}

/** A quantity against LOT_SIZE, then (MARKET orders) MARKET_LOT_SIZE where it is set. */
export function checkQuantity(text: string, f: SymbolFilters, type: OrderType = 'LIMIT'): Issue | null {
  const missing = amountIssue('quantity', text);
  if (missing) return missing;
  const r = rulesOf(f);
  const qty = parseDecimal(text)!;
  const lot = lotIssue(qty, r.minQty, r.maxQty, r.step, r, false);
  if (lot || type !== 'MARKET') return lot;
  return lotIssue(qty, r.marketMinQty, r.marketMaxQty, r.marketStep, r, true);
}

// --- NOTIONAL ------------------------------------------------------------------------------

/** quantity × price against NOTIONAL's min and max; a MARKET order only where apply-to-market
 * says so. The fix offered is a quantity on the LOT_SIZE grid. */
export function checkNotional(qty: Dec, price: Dec, f: SymbolFilters, market: boolean): Issue | null {
  if (isZero(price)) return null;
  const r = rulesOf(f);
  const notional = mul(qty, price);
  const places = Math.max(r.step.scale, r.minQty.scale) + 2;
  if ((r.minToMarket || !market) && cmp(notional, r.minNotional) < 0) {
    const needed = max(onGrid(div(r.minNotional, price, places, 'ceil'), r.minQty, r.step, 'ceil'), r.minQty);
    return {
      field: 'quantity',
      message: `Order value ${s(notional)} is below the minimum ${s(r.minNotional)} ${r.quoteAsset}`,
      nearest: s(needed),
    };
  }
  if (set(r.maxNotional) && (r.maxToMarket || !market) && cmp(notional, r.maxNotional) > 0) {
    const most = onGrid(div(r.maxNotional, price, places, 'floor'), r.minQty, r.step, 'floor');
    return {
      field: 'quantity',
      message: `Order value ${s(notional)} is above the maximum ${s(r.maxNotional)} ${r.quoteAsset}`,
      nearest: s(most),
    };
  }
  return null;
}

// --- a MARKET order's quote amount ----------------------------------------------------------

/** The most a MARKET order may trade: the lower of LOT_SIZE's and MARKET_LOT_SIZE's maximum. */
function marketQuantityLimit(r: Rules): Dec | null {
  const limits = [r.maxQty, r.marketMaxQty].filter(set);
  if (limits.length === 0) return null;
  return limits.reduce((a, b) => (cmp(a, b) <= 0 ? a : b));
}

/** A quote amount: the quote asset's precision, NOTIONAL (where it applies to MARKET orders),
 * and the quantity it buys at `market` against the market maximum. */
export function checkQuoteQuantity(text: string, f: SymbolFilters, market: string | null): Issue | null {
  const missing = amountIssue('quote_quantity', text);
  if (missing) return missing;
  const r = rulesOf(f);
  const amount = parseDecimal(text)!;
  const unit = unitOf(r.quotePrecision);
  const field = 'quote_quantity';
  if (!isMultiple(amount, unit)) {
    const nearest = max(toStep(amount, unit, 'nearest'), unit);
    return { field, message: `At most ${r.quotePrecision} decimals for ${r.quoteAsset}`, nearest: s(nearest) };
  }
  if (r.minToMarket && cmp(amount, r.minNotional) < 0) {
    return { field, message: `Below the minimum order value ${s(r.minNotional)} ${r.quoteAsset}`, nearest: s(r.minNotional) };
  }
  if (r.maxToMarket && set(r.maxNotional) && cmp(amount, r.maxNotional) > 0) {
    return { field, message: `Above the maximum order value ${s(r.maxNotional)} ${r.quoteAsset}`, nearest: s(r.maxNotional) };
  }
  const reference = parseDecimal(market);
  const limit = marketQuantityLimit(r);
  if (reference && !isZero(reference) && limit) {
    const most = mul(limit, reference);
    if (cmp(amount, most) > 0) {
      return {
        field,
        message: `Buys more than the maximum quantity ${s(limit)} at the last price ${s(reference)}`,
        nearest: s(toStep(most, unit, 'floor')),
      };
    }
  }
  return null;
}
