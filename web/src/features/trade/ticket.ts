/**
 * The order ticket's rules, as the user types: the symbol's filters (tick size, step size,
 * minimum quantity, minimum notional) with the nearest valid value, the total and the fee.
 * Pure functions over decimal strings (lib/decimal), so the screen shows what the API will check.
 */
import {
  cmp,
  type Dec,
  decimalsOf,
  div,
  isMultiple,
  isZero,
  mul,
  parseDecimal,
  toShort,
  toStep,
} from '../../lib/decimal';
import type { Schemas } from '../../lib/api/client';

export type SymbolFilters = Schemas['SymbolPublic'];
export type OrderType = 'MARKET' | 'LIMIT' | 'STOP_LOSS_LIMIT';
export type Side = 'BUY' | 'SELL';
export type AmountMode = 'quantity' | 'quote_quantity';
export type TicketField = 'quantity' | 'quote_quantity' | 'price' | 'stop_price';

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

export interface Issue {
  field: TicketField;
  message: string;
  /** The nearest value the filters accept, offered as a one-click fix. */
  nearest?: string;
}

export interface TicketCheck {
  issues: Issue[];
  /** The order's value in the quote asset (estimated at the market price for MARKET). */
  total: string | null;
  fee: string | null;
}

export const PAPER_FEE_RATE = '0.001';

function amountIssue(field: TicketField, text: string): Issue | null {
  if (text.trim() === '') return { field, message: 'Required' };
  const value = parseDecimal(text);
  if (!value) return { field, message: 'Enter a plain number such as 0.001' };
  if (isZero(value)) return { field, message: 'Must be greater than zero' };
  return null;
}

/** A quantity's step and minimum, with the nearest valid quantity. */
export function checkQuantity(text: string, filters: SymbolFilters): Issue | null {
  const missing = amountIssue('quantity', text);
  if (missing) return missing;
  const qty = parseDecimal(text)!;
  const step = parseDecimal(filters.step_size)!;
  const minQty = parseDecimal(filters.min_qty)!;
  if (cmp(qty, minQty) < 0) {
    const nearest = toStep(minQty, step, 'ceil');
    return {
      field: 'quantity',
      message: `Below the minimum quantity ${toShort(minQty)}`,
      nearest: toShort(nearest),
    };
  }
  if (!isMultiple(qty, step)) {
    const nearest = toStep(qty, step, 'floor');
    return {
      field: 'quantity',
      message: `Must be a multiple of the step size ${toShort(step)}`,
      nearest: toShort(cmp(nearest, minQty) < 0 ? toStep(minQty, step, 'ceil') : nearest),
    };
  }
  return null;
}

/** A price's tick, with the nearest valid price. */
export function checkPrice(field: 'price' | 'stop_price', text: string, filters: SymbolFilters): Issue | null {
  const missing = amountIssue(field, text);
  if (missing) return missing;
  const price = parseDecimal(text)!;
  const tick = parseDecimal(filters.tick_size)!;
  if (!isMultiple(price, tick)) {
    let nearest = toStep(price, tick, 'nearest');
    if (isZero(nearest)) nearest = tick;
    return {
      field,
      message: `Must be a multiple of the tick size ${toShort(tick)}`,
      nearest: toShort(nearest),
    };
  }
  return null;
}

/** The price the total is computed at: the limit price, or the market's for MARKET. */
function pricing(ticket: Ticket, market: string | null): Dec | null {
  return parseDecimal(ticket.type === 'MARKET' ? market : ticket.price);
}

/** Every rule of the ticket, the total and the estimated fee. */
export function checkTicket(
  ticket: Ticket,
  filters: SymbolFilters,
  marketPrice: string | null,
  feeRate: string = PAPER_FEE_RATE,
): TicketCheck {
  const issues: Issue[] = [];
  const byQuote = ticket.type === 'MARKET' && ticket.amountMode === 'quote_quantity';
  const minNotional = parseDecimal(filters.min_notional)!;
  const step = parseDecimal(filters.step_size)!;
  const quoteDecimals = Math.max(decimalsOf(parseDecimal(filters.tick_size)!), 2);

  if (ticket.type !== 'MARKET') {
    const priceIssue = checkPrice('price', ticket.price, filters);
    if (priceIssue) issues.push(priceIssue);
  }
  if (ticket.type === 'STOP_LOSS_LIMIT') {
    const stopIssue = checkPrice('stop_price', ticket.stopPrice, filters);
    if (stopIssue) issues.push(stopIssue);
    const price = parseDecimal(ticket.price);
    const stop = parseDecimal(ticket.stopPrice);
    if (!stopIssue && price && stop && !issues.some((i) => i.field === 'price')) {
      if (ticket.side === 'SELL' && cmp(price, stop) > 0) {
        issues.push({
          field: 'price',
          message: 'A SELL stop-loss sells once the market falls to the stop: its limit must be at or below the stop',
          nearest: toShort(stop),
        });
      }
      if (ticket.side === 'BUY' && cmp(price, stop) < 0) {
        issues.push({
          field: 'price',
          message: 'A BUY stop buys once the market rises to the stop: its limit must be at or above the stop',
          nearest: toShort(stop),
        });
      }
    }
  }

  let total: Dec | null = null;
  if (byQuote) {
    const missing = amountIssue('quote_quantity', ticket.quoteQuantity);
    if (missing) issues.push(missing);
    else {
      total = parseDecimal(ticket.quoteQuantity)!;
      if (cmp(total, minNotional) < 0) {
        issues.push({
          field: 'quote_quantity',
          message: `Below the minimum order value ${toShort(minNotional)} ${filters.quote_asset}`,
          nearest: toShort(minNotional),
        });
      }
    }
  } else {
    const qtyIssue = checkQuantity(ticket.quantity, filters);
    if (qtyIssue) issues.push(qtyIssue);
    const qty = parseDecimal(ticket.quantity);
    const price = pricing(ticket, marketPrice);
    if (qty && price && !isZero(qty) && !isZero(price)) {
      total = mul(qty, price);
      if (!qtyIssue && cmp(total, minNotional) < 0) {
        const needed = toStep(div(minNotional, price, step.scale + 2, 'ceil'), step, 'ceil');
        issues.push({
          field: 'quantity',
          message: `Order value ${toShort(total)} is below the minimum ${toShort(minNotional)} ${filters.quote_asset}`,
          nearest: toShort(needed),
        });
      }
    }
  }
  const fee = total ? mul(total, parseDecimal(feeRate)!) : null;
  return {
    issues,
    total: total ? toShort(toStep(total, { units: 1n, scale: quoteDecimals }, 'nearest')) : null,
    fee: fee ? toShort(toStep(fee, { units: 1n, scale: quoteDecimals + 2 }, 'ceil')) : null,
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
  const step = parseDecimal(filters.step_size)!;
  if (ticket.side === 'SELL') {
    return { field: 'quantity', value: toShort(toStep(share, step, 'floor')) };
  }
  const quoteDecimals = Math.max(decimalsOf(parseDecimal(filters.tick_size)!), 2);
  if (ticket.type === 'MARKET' && ticket.amountMode === 'quote_quantity') {
    return { field: 'quote_quantity', value: toShort(toStep(share, { units: 1n, scale: quoteDecimals }, 'floor')) };
  }
  const price = pricing(ticket, marketPrice);
  if (!price || isZero(price)) return null;
  // Leave room for the fee and a market order's slippage buffer (the API reserves 1 %).
  const spendable = ticket.type === 'MARKET' ? div(share, parseDecimal('1.011')!, share.scale + 2) : share;
  return { field: 'quantity', value: toShort(toStep(div(spendable, price, step.scale + 2), step, 'floor')) };
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
