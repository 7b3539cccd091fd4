import { describe, expect, it } from 'vitest';
import { checkPrice, checkQuantity, checkTicket, orderBody, shareOfBalance, type Ticket } from './ticket';
import { BTC } from './symbols.fixture';


const ticket = (over: Partial<Ticket> = {}): Ticket => ({
  symbol: 'BTCUSDT',
  side: 'BUY',
  type: 'LIMIT',
  amountMode: 'quantity',
  quantity: '0.001',
  quoteQuantity: '',
  price: '95000',
  stopPrice: '',
  ...over,
});

describe('quantity against the step size and minimum', () => {
  it('accepts a whole number of steps', () => {
    expect(checkQuantity('0.00123', BTC)).toBeNull();
  });
  it('offers the nearest step for a quantity between steps', () => {
    expect(checkQuantity('0.0012345', BTC)).toMatchObject({ field: 'quantity', nearest: '0.00123' });
  });
  it('offers the minimum for a quantity under it', () => {
    expect(checkQuantity('0.000001', BTC)).toMatchObject({ nearest: '0.00001' });
  });
  it('says what is wrong with text that is not a number', () => {
    expect(checkQuantity('1,5', BTC)?.message).toMatch(/plain number/);
    expect(checkQuantity('', BTC)?.message).toBe('Required');
    expect(checkQuantity('0', BTC)?.message).toMatch(/greater than zero/);
  });
});

describe('prices against the tick size', () => {
  it('offers the nearest tick', () => {
    expect(checkPrice('price', '95000.126', BTC)).toMatchObject({ nearest: '95000.13' });
    expect(checkPrice('price', '95000.124', BTC)).toMatchObject({ nearest: '95000.12' });
    expect(checkPrice('price', '95000.12', BTC)).toBeNull();
  });
  it('never offers zero', () => {
    expect(checkPrice('stop_price', '0.001', BTC)).toMatchObject({ nearest: '0.01' });
  });
});

describe('the whole ticket', () => {
  it('computes the total and the fee exactly', () => {
    const check = checkTicket(ticket({ quantity: '0.003', price: '33333.33' }), BTC, null);
    expect(check.issues).toEqual([]);
    expect(check.total).toBe('100'); // 99.99999 to the cent
    expect(check.fee).toBe('0.1');
  });
  it('uses the market price for a MARKET order and checks the minimum notional', () => {
    const check = checkTicket(ticket({ type: 'MARKET', quantity: '0.00002' }), BTC, '95000.00');
    expect(check.total).toBe('1.9');
    expect(check.issues).toEqual([
      expect.objectContaining({ field: 'quantity', nearest: '0.00006' }),
    ]);
  });
  it('checks a quote amount against the minimum notional', () => {
    const check = checkTicket(ticket({ type: 'MARKET', amountMode: 'quote_quantity', quoteQuantity: '4.5' }), BTC, '95000');
    expect(check.issues).toEqual([expect.objectContaining({ field: 'quote_quantity', nearest: '5' })]);
  });
  it('puts a SELL stop-loss limit at or below its stop', () => {
    const check = checkTicket(ticket({ type: 'STOP_LOSS_LIMIT', side: 'SELL', price: '91000', stopPrice: '90000' }), BTC, '95000');
    expect(check.issues).toEqual([expect.objectContaining({ field: 'price', nearest: '90000' })]);
  });
  it('does not round through floats (0.1 + 0.2 style amounts stay exact)', () => {
    const check = checkTicket(ticket({ quantity: '0.00007', price: '70000.01' }), BTC, null);
    expect(check.total).toBe('4.9');
    expect(check.issues[0]).toMatchObject({ field: 'quantity', nearest: '0.00008' });
  });
});

describe('balance shares', () => {
  it('sells a share of the base balance rounded down to the step', () => {
    expect(shareOfBalance(ticket({ side: 'SELL' }), BTC, '0.0123456', 50, '95000')).toEqual({ field: 'quantity', value: '0.00617' });
  });
  it('spends a share of the quote balance', () => {
    const market = ticket({ type: 'MARKET', amountMode: 'quote_quantity' });
    expect(shareOfBalance(market, BTC, '10000.00', 25, '95000')).toEqual({ field: 'quote_quantity', value: '2500' });
  });
  it('buys what a share of the quote balance pays for at the limit price', () => {
    expect(shareOfBalance(ticket({ price: '50000' }), BTC, '10000', 100, null)).toEqual({ field: 'quantity', value: '0.2' });
  });
});

describe('the request body', () => {
  it('sends only the fields the type takes', () => {
    expect(orderBody(ticket({ type: 'MARKET', amountMode: 'quote_quantity', quoteQuantity: ' 25 ' }))).toEqual({
      symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', quote_quantity: '25',
    });
    expect(orderBody(ticket({ stopPrice: '1' }))).toEqual({
      symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', quantity: '0.001', price: '95000',
    });
  });
});
