/**
 * The order ticket's rules, as the user types: every filter of the symbol (./filters) with the
 * nearest valid value, the total and the fee. Pure functions over decimal strings
 * (lib/decimal), so the screen shows what the API will check.
 */
import { cmp, type Dec, decimalsOf, div, isZero, min, mul, onGrid, parseDecimal, toShort, toStep, unitOf } from '../../lib/decimal';
import type { Schemas } from '../../lib/api/client';
import {
  amountIssue,
  checkNotional,
  checkPercentPrice,
  checkPrice,
  checkQuantity,
  checkQuoteQuantity,
  type Issue,
  type OrderType,
  rulesOf,
  type Side,
  type SymbolFilters,
} from './filters';

export { checkPrice, checkQuantity, checkQuoteQuantity, percentBand } from './filters';
export type { Issue, OrderType, Side, SymbolFilters, TicketField } from './filters';
export type AmountMode = 'quantity' | 'quote_quantity';

export interface Ticket {
  symbol: string;
  side: Side;
  type: OrderType;
  /** MARKET only: spend a quote amount instead of giving a quantity. */
  amountMode: AmountMode;
  quantity: string;
  quoteQuantity: string;
  price: string;
  stopPrice: string;
}

export interface TicketCheck {
  issues: Issue[];
  /** The order's value in the quote asset (estimated at the market price for MARKET). */
  total: string | null;
  fee: string | null;
}

export const PAPER_FEE_RATE = '0.001';

/** The price the total is computed at: the limit price, or the market's for MARKET. */
function pricing(ticket: Ticket, market: string | null): Dec | null {
  return parseDecimal(ticket.type === 'MARKET' ? market : ticket.price);
}

/** Decimals the total is shown with: the tick's, at least cents. */
function quoteDecimals(filters: SymbolFilters): number {
  return Math.max(decimalsOf(rulesOf(filters).tick), 2);
}

function stopSideIssue(ticket: Ticket): Issue | null {
  const price = parseDecimal(ticket.price);
  const stop = parseDecimal(ticket.stopPrice);
  if (!price || !stop) return null;
  if (ticket.side === 'SELL' && cmp(price, stop) > 0) {
    return {
      field: 'price',
      message: 'A SELL stop-loss sells once the market falls to the stop: its limit must be at or below the stop',
      nearest: toShort(stop),
    };
  }
  if (ticket.side === 'BUY' && cmp(price, stop) < 0) {
    return {
      field: 'price',
      message: 'A BUY stop buys once the market rises to the stop: its limit must be at or above the stop',
      nearest: toShort(stop),
    };
  }
  return null;
}

/**
 * Every rule of the ticket, the total and the estimated fee. `marketPrice` is the latest price:
 * a MARKET order's notional and PERCENT_PRICE_BY_SIDE are checked against it (skipped without one).
 */
export function checkTicket(
  ticket: Ticket,
  filters: SymbolFilters,
  marketPrice: string | null,
  feeRate: string = PAPER_FEE_RATE,
): TicketCheck {
  const issues: Issue[] = [];
  const push = (issue: Issue | null) => {
    if (issue) issues.push(issue);
  };
  const market = ticket.type === 'MARKET';
  const byQuote = market && ticket.amountMode === 'quote_quantity';

  if (!market) {
    // As the server: a price that breaks PRICE_FILTER is not also measured against the market.
    push(checkPrice('price', ticket.price, filters) ?? checkPercentPrice(ticket.side, ticket.price, filters, marketPrice));
  }
  if (ticket.type === 'STOP_LOSS_LIMIT') {
    const stopIssue = checkPrice('stop_price', ticket.stopPrice, filters);
    push(stopIssue);
    if (!stopIssue && !issues.some((i) => i.field === 'price')) push(stopSideIssue(ticket));
  }

  let total: Dec | null = null;
  if (byQuote) {
    const issue = checkQuoteQuantity(ticket.quoteQuantity, filters, marketPrice);
    push(issue);
    if (!amountIssue('quote_quantity', ticket.quoteQuantity)) total = parseDecimal(ticket.quoteQuantity);
  } else {
    const qtyIssue = checkQuantity(ticket.quantity, filters, ticket.type);
    push(qtyIssue);
    const qty = parseDecimal(ticket.quantity);
    const price = pricing(ticket, marketPrice);
    if (qty && price && !isZero(qty) && !isZero(price)) {
      total = mul(qty, price);
      if (!qtyIssue) push(checkNotional(qty, price, filters, market));
    }
  }
  const decimals = quoteDecimals(filters);
  const fee = total ? mul(total, parseDecimal(feeRate)!) : null;
  return {
    issues,
    total: total ? toShort(toStep(total, unitOf(decimals), 'nearest')) : null,
    fee: fee ? toShort(toStep(fee, unitOf(decimals + 2), 'ceil')) : null,
  };
}

/**
 * The amount a 25/50/75/100 % button fills in: a share of the free balance (quote to spend when
 * buying, base to sell when selling), rounded down to what the filters accept.
 */
export function shareOfBalance(
  ticket: Ticket,
  filters: SymbolFilters,
  free: string,
  percent: number,
  marketPrice: string | null,
): { field: 'quantity' | 'quote_quantity'; value: string } | null {
  const balance = parseDecimal(free);
  if (!balance) return null;
  const share = div(mul(balance, { units: BigInt(percent), scale: 0 }), { units: 100n, scale: 0 }, balance.scale + 2);
  const { step } = rulesOf(filters);
  if (ticket.side === 'SELL') {
    return { field: 'quantity', value: toShort(fitQuantity(share, filters, ticket.type)) };
  }
  if (ticket.type === 'MARKET' && ticket.amountMode === 'quote_quantity') {
    const places = Math.min(quoteDecimals(filters), rulesOf(filters).quotePrecision);
    return { field: 'quote_quantity', value: toShort(toStep(share, unitOf(places), 'floor')) };
  }
  const price = pricing(ticket, marketPrice);
  if (!price || isZero(price)) return null;
  // Leave room for the fee and a market order's slippage buffer (the API reserves 1 %).
  const spendable = ticket.type === 'MARKET' ? div(share, parseDecimal('1.011')!, share.scale + 2) : share;
  return { field: 'quantity', value: toShort(fitQuantity(div(spendable, price, step.scale + 2), filters, ticket.type)) };
}

/** A quantity rounded down onto the LOT_SIZE grid and capped at the type's maximum. Under the
 * minimum it stays under it (rounded to the step), so the ticket says so and offers the minimum. */
function fitQuantity(qty: Dec, filters: SymbolFilters, type: OrderType): Dec {
  const r = rulesOf(filters);
  let fitted = qty;
  for (const limit of type === 'MARKET' ? [r.maxQty, r.marketMaxQty] : [r.maxQty]) {
    if (!isZero(limit)) fitted = min(fitted, limit);
  }
  if (cmp(fitted, r.minQty) < 0) return toStep(fitted, r.step, 'floor');
  return onGrid(fitted, r.minQty, r.step, 'floor');
}

/** The request body the ticket sends: only the fields its type takes. */
export function orderBody(ticket: Ticket): Schemas['TradeCreate'] {
  const base = { symbol: ticket.symbol, side: ticket.side };
  if (ticket.type === 'MARKET') {
    return ticket.amountMode === 'quote_quantity'
      ? { ...base, type: 'MARKET', quote_quantity: ticket.quoteQuantity.trim() }
      : { ...base, type: 'MARKET', quantity: ticket.quantity.trim() };
  }
  if (ticket.type === 'LIMIT') {
    return { ...base, type: 'LIMIT', quantity: ticket.quantity.trim(), price: ticket.price.trim() };
  }
  return {
    ...base,
    type: 'STOP_LOSS_LIMIT',
    quantity: ticket.quantity.trim(),
    price: ticket.price.trim(),
    stop_price: ticket.stopPrice.trim(),
  };
}
