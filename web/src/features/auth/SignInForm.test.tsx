import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SignInForm } from './SignInForm';
import { getToken, setToken } from '../../lib/auth/token';

function reply(status: number, body: unknown): Response {
  const type = status >= 400 ? 'application/problem+json' : 'application/json';
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': type } });
}

function renderForm() {
  const client = new QueryClient({ defaultOptions: { mutations: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <SignInForm />
    </QueryClientProvider>,
  );
}

afterEach(() => {
  cleanup();
  setToken(null);
});

describe('signing in', () => {
  it('shows the problem detail under the field it names', async () => {
    vi.spyOn(globalThis, 'fetch').mockResolvedValue(
      reply(422, {
        type: 'urn:tradebot:problem:invalid-input',
        title: 'Invalid input',
        status: 422,
        detail: 'password: must be at least 12 characters',
        errors: [{ field: 'password', message: 'must be at least 12 characters' }],
      }),
    );
    renderForm();
    const user = userEvent.setup();
    await user.click(screen.getByRole('button', { name: /create an account/i }));
    await user.type(screen.getByLabelText('Email'), 'a@example.com');
    await user.type(screen.getByLabelText('Password'), 'short');
    await user.click(screen.getByRole('button', { name: 'Create account' }));

    const password = screen.getByLabelText('Password');
    expect(await screen.findByText('must be at least 12 characters')).toBeTruthy();
    expect(password.getAttribute('aria-invalid')).toBe('true');
    expect(password.getAttribute('aria-describedby')).toContain(screen.getByText('must be at least 12 characters').id);
    expect(getToken()).toBeNull();
  });

  it('keeps the access token in memory, never in storage', async () => {
    vi.spyOn(globalThis, 'fetch').mockResolvedValue(
      reply(200, { access_token: 'token-123', token_type: 'bearer', expires_in: 3600 }),
    );
    renderForm();
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Email'), 'a@example.com');
    await user.type(screen.getByLabelText('Password'), 'correct horse battery staple');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));

    await vi.waitFor(() => expect(getToken()).toBe('token-123'));
    expect(JSON.stringify({ ...localStorage })).not.toContain('token-123');
    expect(JSON.stringify({ ...sessionStorage })).not.toContain('token-123');
  });

  it('says so when the server cannot be reached', async () => {
    vi.spyOn(globalThis, 'fetch').mockRejectedValue(new TypeError('Failed to fetch'));
    renderForm();
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Email'), 'a@example.com');
    await user.type(screen.getByLabelText('Password'), 'correct horse battery staple');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));

    expect(await screen.findByRole('alert')).toHaveProperty('textContent', expect.stringMatching(/could not be reached/));
  });

  it('asks for the authentication code when 2FA is on and signs in with it', async () => {
    const bodies: Record<string, unknown>[] = [];
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input) => {
      const body = (await (input as Request).json()) as Record<string, unknown>;
      bodies.push(body);
      if (body.otp === '123456') return reply(200, { access_token: 'token-2fa', token_type: 'bearer', expires_in: 900 });
      return reply(401, {
        type: 'urn:tradebot:problem:otp-required', title: 'OTP required', status: 401,
        detail: body.otp ? 'The one-time code is wrong or was already used' : 'Two-factor authentication is on',
      });
    });
    renderForm();
    const user = userEvent.setup();
    await user.type(screen.getByLabelText('Email'), 'a@example.com');
    await user.type(screen.getByLabelText('Password'), 'correct horse battery staple');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));

    const code = await screen.findByLabelText('Authentication code');
    expect(screen.queryByRole('alert')).toBeNull(); // asking is not an error
    await user.type(code, '000000');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByText('The one-time code is wrong or was already used')).toBeTruthy();

    await user.clear(code);
    await user.type(code, '123456');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    await vi.waitFor(() => expect(getToken()).toBe('token-2fa'));
    expect(bodies.map((body) => body.otp)).toEqual([undefined, '000000', '123456']);
  });
});
