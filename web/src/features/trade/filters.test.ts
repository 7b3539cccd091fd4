/**
 * Every filter at its boundary and just past it, with the nearest valid value. Most cases are
 * the server's own (tests/unit/test_filters.py, test_filters_binance_rules.py), so the ticket
 * refuses what the API refuses and offers the value the API's 422 names.
 */
import { describe, expect, it } from 'vitest';
import { checkTicket, type SymbolFilters, type Ticket } from './ticket';
import { BARE, BTC, DOGE, SHIB } from './symbols.fixture';
import { checkPrice, percentBand } from './filters';
import { toShort } from '../../lib/decimal';

const MARKET = '95000';

const limit = (side: Ticket['side'], price: string, quantity = '0.001', over: Partial<Ticket> = {}): Ticket => ({
  symbol: 'BTCUSDT', side, type: 'LIMIT', amountMode: 'quantity', quantity, quoteQuantity: '', price, stopPrice: '', ...over,
});
const market = (quantity: string | null, quote: string | null = null): Ticket => ({
  symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', amountMode: quote ? 'quote_quantity' : 'quantity',
  quantity: quantity ?? '', quoteQuantity: quote ?? '', price: '', stopPrice: '',
});

/** The ticket's issues as (field, nearest) pairs, like the server's (field, "nearest valid"). */
function issues(filters: SymbolFilters, ticket: Ticket, price: string | null = MARKET) {
  return checkTicket(ticket, filters, price).issues.map((i) => [i.field, i.nearest]);
}
const passes = (filters: SymbolFilters, ticket: Ticket, price: string | null = MARKET) =>
  expect(issues(filters, ticket, price)).toEqual([]);
const refused = (filters: SymbolFilters, ticket: Ticket, field: string, nearest: string, price: string | null = MARKET) =>
  expect(issues(filters, ticket, price)).toEqual([[field, nearest]]);

describe('PRICE_FILTER: tick size within min and max price', () => {
  it('offers the nearest tick (server: 95000.006 -> 95000.01)', () => {
    passes(BTC, limit('BUY', '95000.01'));
    refused(BTC, limit('BUY', '95000.006'), 'price', '95000.01');
  });
  it('reports a stop price off its tick on stop_price (server: 0.300004 -> 0.3)', () => {
    const stop = limit('SELL', '0.3', '100', { type: 'STOP_LOSS_LIMIT', stopPrice: '0.300004' });
    refused(DOGE, stop, 'stop_price', '0.3', '0.32');
  });
  it('offers the bound for a price outside min and max price', () => {
    expect(checkPrice('price', '0.01', BTC)).toBeNull();
    expect(checkPrice('price', '0.009', BTC)).toMatchObject({ nearest: '0.01' });
    expect(checkPrice('price', '1000000', BTC)).toBeNull();
    expect(checkPrice('price', '1000000.01', BTC)).toMatchObject({ nearest: '1000000' });
    expect(checkPrice('price', '2000000', BTC)).toMatchObject({ message: 'Above the maximum price 1000000' });
  });
  it('counts ticks from min price, as the exchange does', () => {
    const offset = { ...BTC, min_price: '0.005', tick_size: '0.01' };
    expect(checkPrice('price', '1.005', offset)).toBeNull();
    expect(checkPrice('price', '1.01', offset)).toMatchObject({ nearest: '1.015' });
  });
  it('skips min and max price where they are 0', () => {
    expect(checkPrice('price', '2000000', BARE)).toBeNull();
  });
});

describe('PERCENT_PRICE_BY_SIDE against the last price', () => {
  it('lets a buy up to 5x the market and refuses one tick more', () => {
    passes(BTC, limit('BUY', '475000'));
    refused(BTC, limit('BUY', '475000.01'), 'price', '475000');
    refused(BTC, limit('BUY', '950000'), 'price', '475000');
  });
  it('lets a buy down to 0.2x the market and refuses one tick less', () => {
    passes(BTC, limit('BUY', '19000'));
    refused(BTC, limit('BUY', '18999.99'), 'price', '19000');
  });
  it('bounds a sell by the ask multipliers, not the bid ones', () => {
    const skewed = { ...BTC, bid_multiplier_up: '1.2', bid_multiplier_down: '0.8', ask_multiplier_up: '1.5', ask_multiplier_down: '0.9' };
    passes(skewed, limit('SELL', '142500'));
    passes(skewed, limit('BUY', '76000'));
    refused(skewed, limit('SELL', '142500.01'), 'price', '142500');
    refused(skewed, limit('SELL', '85499.99'), 'price', '85500');
    refused(skewed, limit('BUY', '114000.01'), 'price', '114000');
  });
  it('offers a price on the tick grid for sub-cent coins', () => {
    refused(SHIB, limit('BUY', '0.00004266', '1000000'), 'price', '0.00004265', '0.00000853');
  });
  it("bounds a stop-loss limit's price too", () => {
    refused(BTC, limit('SELL', '18999.99', '0.001', { type: 'STOP_LOSS_LIMIT', stopPrice: '20000' }), 'price', '19000');
  });
  it('is skipped without a last price or where the multipliers are 0', () => {
    passes(BTC, limit('BUY', '950000'), null);
    passes(BARE, limit('BUY', '950000'));
  });
  it('gives the band the hint shows', () => {
    expect(percentBand('BUY', BTC, MARKET)).toEqual({ low: expect.anything(), high: expect.anything() });
    const { low, high } = percentBand('SELL', SHIB, '0.00000853');
    expect([low && toShort(low), high && toShort(high)]).toEqual(['0.00000171', '0.00004265']);
    expect(percentBand('BUY', BARE, MARKET)).toEqual({ low: null, high: null });
  });
});

describe('LOT_SIZE: step size within min and max quantity', () => {
  it('offers the nearest step (server: 0.0001234 -> 0.00012)', () => {
    passes(BTC, limit('BUY', '95000', '0.00012'));
    refused(BTC, limit('BUY', '95000', '0.0001234'), 'quantity', '0.00012');
    refused(BTC, limit('BUY', '95000', '0.000125'), 'quantity', '0.00013');
  });
  it('offers the minimum below it (server: DOGE 0.5 -> 1)', () => {
    refused(DOGE, market('0.5'), 'quantity', '1', '0.32');
  });
  it('offers the maximum above it (server: 9000.5 -> 9000)', () => {
    passes(BTC, limit('SELL', '1', '9000'), null);
    refused(BTC, limit('SELL', '1', '9000.00001'), 'quantity', '9000', null);
    refused(BTC, limit('SELL', '95000', '9000.5'), 'quantity', '9000');
  });
  it('skips the maximum where it is 0', () => {
    passes(BARE, limit('SELL', '1', '9000.5'), null);
  });
});

describe('MARKET_LOT_SIZE on market orders', () => {
  const capped = { ...BTC, market_max_qty: '10' };
  it('passes up to its maximum and refuses one step more', () => {
    passes(capped, market('10'));
    refused(capped, market('10.00001'), 'quantity', '10');
  });
  it('offers its maximum on the LOT_SIZE grid (server: 86.6070 -> 86.60698)', () => {
    refused(BTC, market('86.6070'), 'quantity', '86.60698');
  });
  it('does not bound a limit order', () => {
    passes(BTC, limit('BUY', '95000', '90'));
  });
  it('applies its minimum and step when set, and 0 disables them', () => {
    const stepped = { ...DOGE, market_min_qty: '10', market_step_size: '10' };
    passes(stepped, market('30'), '0.32');
    refused(stepped, market('9'), 'quantity', '10', '0.32');
    refused(stepped, market('25'), 'quantity', '30', '0.32');
    passes(DOGE, market('25'), '0.32');
  });
  it('refuses a quote amount that buys more than its maximum', () => {
    passes(capped, market(null, '950000'));
    refused(capped, market(null, '950000.01'), 'quote_quantity', '950000');
  });
});

describe('NOTIONAL: min and max order value, and whether they bind market orders', () => {
  it('passes a limit up to the maximum notional and refuses one step more', () => {
    passes(BTC, limit('BUY', '90000', '100'));
    refused(BTC, limit('BUY', '90000', '100.00001'), 'quantity', '100');
  });
  it('uses the limit price for a limit order (server: 0.00001 @ 95000 -> 0.00006)', () => {
    passes(BTC, limit('BUY', '95000', '0.00006'));
    refused(BTC, limit('BUY', '95000', '0.00005'), 'quantity', '0.00006');
  });
  it('uses the last price for a market order at the boundary (server: DOGE 16 @ 0.3125)', () => {
    passes(DOGE, market('16'), '0.3125');
    refused(DOGE, market('15'), 'quantity', '16', '0.3125');
    refused(DOGE, market('10'), 'quantity', '16', '0.32');
  });
  it('spares market orders the minimum when apply_min_to_market is false', () => {
    const lenient = { ...BTC, apply_min_to_market: false };
    passes(lenient, market('0.00001'));
    passes(lenient, market(null, '1'));
    refused(lenient, limit('BUY', '95000', '0.00001'), 'quantity', '0.00006');
  });
  it('binds market orders to the maximum only with apply_max_to_market', () => {
    const unlimitedLot = { ...BTC, market_max_qty: '0' };
    passes(unlimitedLot, market('100')); // 9.5M, but applyMaxToMarket is false
    const applied = { ...unlimitedLot, apply_max_to_market: true };
    passes(applied, market('94.73684'));
    refused(applied, market('94.73685'), 'quantity', '94.73684');
    passes(applied, market(null, '9000000'));
    refused(applied, market(null, '9000000.01'), 'quote_quantity', '9000000');
  });
  it('checks a quote amount against the minimum (server: 4.99 -> 5)', () => {
    passes(BTC, market(null, '5'));
    refused(BTC, market(null, '4.99'), 'quote_quantity', '5');
  });
  it('skips the maximum where it is 0', () => {
    passes(BARE, limit('BUY', '90000', '1000'));
  });
});

describe("the quote asset's precision for a quote amount", () => {
  it('passes 8 decimals and offers the nearest for 9 (server: 10.123456789 -> 10.12345679)', () => {
    passes(BTC, market(null, '10.12345678'));
    refused(BTC, market(null, '10.123456789'), 'quote_quantity', '10.12345679');
  });
  it('enforces a coarser precision (server: 2 places, 10.125 -> 10.13)', () => {
    const twoPlaces = { ...BTC, quote_precision: 2 };
    passes(twoPlaces, market(null, '10.12'));
    refused(twoPlaces, market(null, '10.125'), 'quote_quantity', '10.13');
  });
});

describe('every breach at once, each on its own field', () => {
  it('reports price, stop price and quantity together', () => {
    const ticket = limit('SELL', '95000.006', '0.0001234', { type: 'STOP_LOSS_LIMIT', stopPrice: '95000.004' });
    expect(issues(BTC, ticket)).toEqual([
      ['price', '95000.01'],
      ['stop_price', '95000'],
      ['quantity', '0.00012'],
    ]);
  });
});
