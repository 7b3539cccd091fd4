import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { api, unwrap } from '../api/client';
import { askForOtp } from './otp';
import { refreshSession } from './session';
import { getAuthState, getToken, mayHaveSession, setToken } from './token';

vi.mock('./otp', () => ({ askForOtp: vi.fn() }));

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json' } });
const expired = () => json(401, { type: 'urn:tradebot:problem:not-authenticated', title: 'Not authenticated', status: 401, detail: 'Invalid or expired access token' });
const otpRequired = (detail = 'Two-factor authentication is on') =>
  json(401, { type: 'urn:tradebot:problem:otp-required', title: 'OTP required', status: 401, detail });
const ME = { id: 'u1', email: 'a@example.com', trading_mode: 'paper', two_factor: false };

interface Seen { path: string; method: string; auth: string | null; otp: string | null; credentials: RequestCredentials; body: string }
let seen: Seen[] = [];

/** The network: `answer` decides each reply from what was sent. */
function network(answer: (call: Seen) => Response | Promise<Response>) {
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input) => {
    const request = input as Request;
    const call: Seen = {
      path: new URL(request.url).pathname,
      method: request.method,
      auth: request.headers.get('Authorization'),
      otp: request.headers.get('X-OTP'),
      credentials: request.credentials,
      body: request.body ? await request.text() : '',
    };
    seen.push(call);
    return answer(call);
  });
}
const refreshes = () => seen.filter((call) => call.path === '/api/auth/refresh');

beforeEach(() => {
  seen = [];
  setToken('old-token', 900);
});
afterEach(() => setToken(null));

describe('silent refresh', () => {
  it('refreshes once for many calls answered 401 at the same time, and retries each with the new token', async () => {
    network(async (call) => {
      if (call.path === '/api/auth/refresh') {
        await new Promise((resolve) => setTimeout(resolve, 20)); // the others' 401s arrive meanwhile
        return json(200, { access_token: 'new-token', token_type: 'bearer', expires_in: 900 });
      }
      return call.auth === 'Bearer new-token' ? json(200, ME) : expired();
    });

    const answers = await Promise.all([1, 2, 3].map(() => unwrap(api.GET('/api/auth/me'))));

    expect(answers).toEqual([ME, ME, ME]);
    expect(refreshes()).toHaveLength(1);
    expect(refreshes()[0]!.credentials).toBe('same-origin'); // the cookie goes with it
    expect(seen.filter((call) => call.path === '/api/auth/me').map((call) => call.auth)).toEqual([
      'Bearer old-token', 'Bearer old-token', 'Bearer old-token', 'Bearer new-token', 'Bearer new-token', 'Bearer new-token',
    ]);
    expect(getToken()).toBe('new-token');
  });

  it('signs out when the refresh is refused, without retrying the call', async () => {
    network((call) => (call.path === '/api/auth/refresh' ? expired() : expired()));

    await expect(unwrap(api.GET('/api/auth/me'))).rejects.toMatchObject({ status: 401 });

    expect(refreshes()).toHaveLength(1);
    expect(seen.filter((call) => call.path === '/api/auth/me')).toHaveLength(1);
    expect(getAuthState()).toEqual({ status: 'signed-out' });
  });

  it('restores the session from the cookie at start-up', async () => {
    setToken(null);
    network(() => json(200, { access_token: 'from-cookie', token_type: 'bearer', expires_in: 900 }));

    await Promise.all([refreshSession(), refreshSession()]); // React's strict mode runs effects twice

    expect(refreshes()).toHaveLength(1);
    expect(getToken()).toBe('from-cookie');
  });

  it('remembers only whether the browser was signed in, never the token', () => {
    setToken('a-token', 900);
    expect(mayHaveSession()).toBe(true);
    expect(JSON.stringify({ ...globalThis.localStorage })).not.toContain('a-token');
    setToken(null);
    expect(mayHaveSession()).toBe(false); // a first visit asks for no refresh it cannot have
  });

  it('resends the body with the retry', async () => {
    network((call) => {
      if (call.path === '/api/auth/refresh') return json(200, { access_token: 'new-token', token_type: 'bearer', expires_in: 900 });
      return call.auth === 'Bearer new-token' ? json(201, { id: 'n1' }) : expired();
    });

    await unwrap(api.POST('/api/notes', { body: { title: 'T', content: 'C', is_pinned: false } }));

    const posts = seen.filter((call) => call.path === '/api/notes');
    expect(posts).toHaveLength(2);
    expect(JSON.parse(posts[1]!.body)).toEqual({ title: 'T', content: 'C', is_pinned: false });
  });
});

describe('step-up', () => {
  it('asks for a code on 401 otp-required and retries with X-OTP, asking again after a wrong code', async () => {
    vi.mocked(askForOtp).mockResolvedValueOnce('000000').mockResolvedValueOnce('123456');
    network((call) => {
      if (call.otp === '123456') return new Response(null, { status: 204 });
      return call.otp ? otpRequired('The one-time code is wrong or was already used') : otpRequired();
    });

    await unwrap(api.DELETE('/api/account/api-keys'));

    expect(seen.map((call) => call.otp)).toEqual([null, '000000', '123456']);
    expect(vi.mocked(askForOtp).mock.calls).toEqual([[null], ['The one-time code is wrong or was already used']]);
    expect(refreshes()).toHaveLength(0); // otp-required is not an expired token
    expect(getToken()).toBe('old-token');
  });

  it('gives up with the problem when the user cancels the prompt', async () => {
    vi.mocked(askForOtp).mockResolvedValueOnce(null);
    network(() => otpRequired());

    await expect(unwrap(api.PUT('/api/account/password', { body: { current_password: 'a', new_password: 'b' } })))
      .rejects.toMatchObject({ kind: 'otp-required' });
    expect(getToken()).toBe('old-token');
  });

  it('takes a 401 from a password check as the answer: no refresh, not sent twice', async () => {
    network(() => json(401, { type: 'urn:tradebot:problem:not-authenticated', title: 'Not authenticated', status: 401, detail: 'The password is wrong' }));

    await expect(unwrap(api.DELETE('/api/account/2fa', { body: { password: 'wrong' } }))).rejects.toThrow('The password is wrong');

    expect(seen).toHaveLength(1);
    expect(getToken()).toBe('old-token');
  });
});

describe('an expired token', () => {
  it('is refreshed before the call rather than after its 401', async () => {
    setToken('old-token', 1); // expires within the safety margin
    network((call) => (call.path === '/api/auth/refresh'
      ? json(200, { access_token: 'new-token', token_type: 'bearer', expires_in: 900 })
      : json(200, ME)));

    await unwrap(api.GET('/api/auth/me'));

    expect(seen.map((call) => [call.path, call.auth])).toEqual([
      ['/api/auth/refresh', null],
      ['/api/auth/me', 'Bearer new-token'],
    ]);
  });
});
