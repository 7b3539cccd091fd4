import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setToken } from '../../lib/auth/token';
import { OrderTicket } from './OrderTicket';
import { BTC } from './symbols.fixture';

const NOW = new Date().toISOString();
const ANSWERS: Record<string, unknown> = {
  '/api/market/symbols': {
    items: [BTC],
  },
  '/api/market/prices': { items: [{ symbol: 'BTCUSDT', price: '95000.00', updated_at: NOW, stale: false }] },
  '/api/dashboard': {
    trading_mode: 'paper', balances: [{ asset: 'USDT', free: '10000', locked: '0' }], open_orders: 0,
    trades_total: 0, volume: '0', realized_pnl: '0', win_rate: null, positions: [],
  },
  '/api/auth/me': { id: 'u1', email: 'a@example.com', trading_mode: 'paper' },
};
const placed: { body: unknown; key: string | null }[] = [];

beforeEach(() => {
  setToken('token');
  placed.length = 0;
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input) => {
    const request = input as Request;
    const path = new URL(request.url).pathname;
    if (path === '/api/trading/trades' && request.method === 'POST') {
      placed.push({ body: await request.json(), key: request.headers.get('Idempotency-Key') });
      return new Response(JSON.stringify({ id: 't1', status: 'PENDING', symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', executed_qty: '0', fee: '0', fees: [] }), { status: 202, headers: { 'Content-Type': 'application/json' } });
    }
    const body = ANSWERS[path];
    return body
      ? new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } })
      : new Response(JSON.stringify({ type: 'about:blank', title: 'Not found', status: 404, detail: 'Not found' }), { status: 404, headers: { 'Content-Type': 'application/problem+json' } });
  });
});

afterEach(() => {
  cleanup();
  setToken(null);
});

function renderTicket() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(<QueryClientProvider client={client}><OrderTicket /></QueryClientProvider>);
}

describe('the order ticket', () => {
  it('applies the step size as typed and offers the nearest valid quantity', async () => {
    renderTicket();
    const user = userEvent.setup();
    const quantity = await screen.findByLabelText('Quantity (BTC)');
    await user.type(quantity, '0.0012345');
    await user.tab();

    expect(await screen.findByText(/multiple of the step size 0.00001/)).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Use 0.00123' }));
    expect((quantity as HTMLInputElement).value).toBe('0.00123');
    expect(screen.getByTestId('ticket-total').textContent).toBe('116.85 USDT'); // 0.00123 × 95000
  });

  it('sends one Idempotency-Key per ticket and only the fields of the type', async () => {
    renderTicket();
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText('Quantity (BTC)'), '0.001');
    await user.click(screen.getByRole('button', { name: /^Buy BTC/ }));

    await vi.waitFor(() => expect(placed).toHaveLength(1));
    expect(placed[0]!.body).toEqual({ symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', quantity: '0.001' });
    expect(placed[0]!.key).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('bounds a limit price by the percent-price band around the last price while typing', async () => {
    renderTicket();
    const user = userEvent.setup();
    await user.selectOptions(await screen.findByLabelText('Order type'), 'LIMIT');
    const price = await screen.findByLabelText('Limit price');
    expect(await screen.findByText(/19,000 – 475,000 for a buy at the last price/)).toBeTruthy();
    await user.type(price, '475000.01'); // no blur: shown as typed

    expect(await screen.findByText(/More than 5× the last price 95000/)).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Use 475000' }));
    expect((price as HTMLInputElement).value).toBe('475000');
    expect(screen.queryByText(/More than 5×/)).toBeNull();
  });

  it('keeps a quote amount to the quote asset precision', async () => {
    renderTicket();
    const user = userEvent.setup();
    await user.click(await screen.findByRole('radio', { name: 'USDT' }));
    const spend = screen.getByLabelText('Spend (USDT)');
    await user.type(spend, '10.123456789');

    expect(await screen.findByText(/At most 8 decimals for USDT/)).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Use 10.12345679' }));
    expect((spend as HTMLInputElement).value).toBe('10.12345679');
  });
});
