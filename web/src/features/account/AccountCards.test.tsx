import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { ReactNode } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setToken } from '../../lib/auth/token';
import { ApiKeyCard } from './ApiKeyCard';
import { DeleteAccountCard } from './DeleteAccountCard';
import { TwoFactorCard } from './TwoFactorCard';

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json' } });

let twoFactor = false;
const sent: { path: string; method: string; body: unknown }[] = [];
const CODES = Array.from({ length: 10 }, (_, i) => `code-${i}`);

beforeEach(() => {
  setToken('token', 900);
  twoFactor = false;
  sent.length = 0;
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input) => {
    const request = input as Request;
    const path = new URL(request.url).pathname;
    const body = request.body ? await request.json() : null;
    sent.push({ path, method: request.method, body });
    switch (`${request.method} ${path}`) {
      case 'GET /api/auth/me': return json(200, { id: 'u1', email: 'a@example.com', trading_mode: 'paper', two_factor: twoFactor });
      case 'POST /api/account/2fa': return json(200, { secret: 'JBSWY3DPEHPK3PXP', otpauth_uri: 'otpauth://totp/Tradebot:a@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Tradebot' });
      case 'POST /api/account/2fa/confirm': twoFactor = true; return json(200, { recovery_codes: CODES });
      case 'GET /api/account/api-keys': return json(404, { type: 'about:blank', title: 'Not found', status: 404, detail: 'No key stored' });
      case 'PUT /api/account/api-keys': return json(422, {
        type: 'urn:tradebot:problem:key-refused', title: 'Key refused', status: 422, detail: 'The key was not stored: api_key cannot trade spot',
        errors: [{ field: 'api_key', message: "cannot trade spot: turn on 'Enable Spot & Margin Trading'" }],
      });
      case 'DELETE /api/account': return json(409, {
        type: 'urn:tradebot:problem:live-orders-open', title: 'Live orders open', status: 409,
        detail: 'Orders may still be open on the exchange; their cancellation was requested. Try again once they are canceled.',
        open_orders: [{ id: 't1', symbol: 'BTCUSDT', status: 'NEW' }],
      });
      default: return json(404, { type: 'about:blank', title: 'Not found', status: 404, detail: 'Not found' });
    }
  });
});
afterEach(() => {
  cleanup();
  setToken(null);
});

function renderWith(children: ReactNode) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  return render(<QueryClientProvider client={client}>{children}</QueryClientProvider>);
}

describe('2FA enrolment', () => {
  it('shows the QR code and the secret, confirms with a code, then shows the ten recovery codes once', async () => {
    renderWith(<TwoFactorCard />);
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Set up 2FA' }));

    const qr = await screen.findByRole('img', { name: 'QR code for your authenticator app' });
    expect(qr.querySelector('path')?.getAttribute('d')).toMatch(/^M\d+ \d+h1v1h-1z/);
    expect(screen.getByTestId('totp-secret').textContent).toBe('JBSWY3DPEHPK3PXP');
    await user.type(screen.getByLabelText('Code from the app'), ' 123456 ');
    await user.click(screen.getByRole('button', { name: 'Turn on 2FA' }));

    expect(await screen.findAllByRole('listitem')).toHaveLength(10);
    expect(sent.find((call) => call.path === '/api/account/2fa/confirm')?.body).toEqual({ otp: '123456' });
    await user.click(screen.getByRole('button', { name: 'I have saved them' }));
    expect(screen.queryByText('code-0')).toBeNull(); // shown once
    expect(await screen.findByRole('button', { name: 'Turn off 2FA' })).toBeTruthy();
  });
});

describe('the exchange key', () => {
  it('sends an Ed25519 private key instead of a secret and shows the refusal next to the field it names', async () => {
    renderWith(<ApiKeyCard />);
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('API key'), 'key-123');
    await user.click(screen.getByLabelText('Ed25519'));
    expect(screen.queryByLabelText('API secret')).toBeNull();
    await user.type(screen.getByLabelText('Ed25519 private key (PEM)'), '-----BEGIN PRIVATE KEY-----');
    await user.click(screen.getByRole('button', { name: 'Store key' }));

    expect(await screen.findByText("cannot trade spot: turn on 'Enable Spot & Margin Trading'")).toBeTruthy();
    expect(screen.getByLabelText('API key').getAttribute('aria-invalid')).toBe('true');
    expect(sent.find((call) => call.method === 'PUT')?.body).toEqual({ api_key: 'key-123', private_key: '-----BEGIN PRIVATE KEY-----', testnet: true });
  });
});

describe('deleting the account', () => {
  it('needs the typed confirmation and shows why live orders stop it', async () => {
    renderWith(<DeleteAccountCard />);
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Password (to delete the account)'), 'correct horse battery staple');
    const button = screen.getByRole('button', { name: 'Delete my account' });
    expect(button).toHaveProperty('disabled', true);
    await user.type(screen.getByLabelText('Type "delete my account" to confirm'), 'delete my account');
    await user.click(button);

    expect(await screen.findByText(/their cancellation was requested/)).toBeTruthy();
    expect(screen.getByRole('list', { name: 'Orders that may still be open' }).textContent).toContain('BTCUSDT — NEW');
  });
});
