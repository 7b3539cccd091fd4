/**
 * The session behind the access token: refresh through the HttpOnly `__Host-refresh` cookie
 * (one request however many calls need it), and the authenticated fetch every API call goes
 * through: a 401 refreshes once and retries, a 401 `otp-required` asks for a code and retries
 * with `X-OTP`, a failed refresh signs out.
 */
import { askForOtp } from './otp';
import { getToken, setToken, tokenExpired } from './token';

const OTP_REQUIRED = 'urn:tradebot:problem:otp-required';
// Calls that check the password in their body: a 401 there with a live token is the password's
// answer, and sending it again would count a second failed attempt against the lockout.
const PASSWORD_CHECKED = new Set(['PUT /api/account/password', 'DELETE /api/account', 'DELETE /api/account/2fa', 'PUT /api/account/limits']);

let refreshing: Promise<string | null> | null = null;

/** A fresh access token from the refresh cookie, or null (then signed out). Concurrent callers share one request. */
export function refreshSession(): Promise<string | null> {
  refreshing ??= (async () => {
    try {
      // The cookie is HttpOnly: sent by the browser, never read by script.
      const response = await globalThis.fetch(
        new Request(`${globalThis.location?.origin ?? ''}/api/auth/refresh`, { method: 'POST', credentials: 'same-origin' }),
      );
      if (!response.ok) throw new Error(`refresh ${response.status}`);
      const body = (await response.json()) as { access_token: string; expires_in?: number };
      setToken(body.access_token, body.expires_in);
      return body.access_token;
    } catch {
      setToken(null);
      return null;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

async function problemType(response: Response): Promise<{ type: string; detail: string | null }> {
  try {
    const body = (await response.clone().json()) as { type?: unknown; detail?: unknown };
    return { type: typeof body.type === 'string' ? body.type : '', detail: typeof body.detail === 'string' ? body.detail : null };
  } catch {
    return { type: '', detail: null };
  }
}

function withHeaders(request: Request, token: string | null, otp?: string): Request {
  const next = new Request(request);
  if (token) next.headers.set('Authorization', `Bearer ${token}`);
  if (otp !== undefined) next.headers.set('X-OTP', otp);
  return next;
}

/** fetch for the API client: bearer token, silent refresh, step-up codes. */
export async function authFetch(request: Request): Promise<Response> {
  const path = new URL(request.url).pathname;
  const authenticated = path.startsWith('/api/') && !path.startsWith('/api/auth/login') && !path.startsWith('/api/auth/register') && !path.startsWith('/api/auth/refresh');
  if (!authenticated) return globalThis.fetch(request);

  // An expired token is refreshed before the call rather than after its 401.
  let token = getToken();
  let refreshed = false;
  if (token && tokenExpired()) {
    refreshed = true; // whatever it answered, a 401 below is not followed by a second refresh
    token = (await refreshSession()) ?? token;
  }
  const original = request.clone(); // the body can be sent once per Request
  let response = await globalThis.fetch(withHeaders(request, token));
  let otp: string | undefined;
  for (;;) {
    if (response.status !== 401) return response;
    const problem = await problemType(response);
    if (problem.type === OTP_REQUIRED) {
      const code = await askForOtp(otp === undefined ? null : problem.detail);
      if (code === null) return response;
      otp = code;
    } else if (!refreshed && !PASSWORD_CHECKED.has(`${request.method} ${path}`)) {
      refreshed = true;
      const fresh = await refreshSession();
      if (!fresh) return response;
      token = fresh;
    } else {
      return response;
    }
    response = await globalThis.fetch(withHeaders(original.clone(), token, otp));
  }
}

/** End this session on the server (clears the cookie) and forget the token. */
export async function logout(): Promise<void> {
  const token = getToken();
  try {
    if (token) {
      await authFetch(new Request(`${globalThis.location?.origin ?? ''}/api/auth/logout`, { method: 'POST', credentials: 'same-origin' }));
    }
  } finally {
    setToken(null);
  }
}
