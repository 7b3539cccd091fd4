/**
 * The access token, in memory only (never localStorage). A reload starts without one and
 * restores it silently through the `__Host-refresh` cookie (lib/auth/session.ts).
 */
import { useSyncExternalStore } from 'react';

/** `restoring` until the first refresh at start-up has answered; then a token or signed out. */
export type AuthState = { status: 'restoring' } | { status: 'signed-in'; token: string } | { status: 'signed-out' };

let state: AuthState = { status: 'restoring' };
// When the token stops being accepted (ms since the epoch), from the reply's expires_in.
let expiresAt = Number.POSITIVE_INFINITY;
const listeners = new Set<() => void>();

export function getToken(): string | null {
  return state.status === 'signed-in' ? state.token : null;
}

export function getAuthState(): AuthState {
  return state;
}

/** True when the token is missing or within `marginMs` of its expiry. */
export function tokenExpired(now = Date.now(), marginMs = 10_000): boolean {
  return getToken() === null || now >= expiresAt - marginMs;
}

// Not the token, nor anything secret: only whether this browser was signed in, so that a
// first visit does not ask for a refresh it cannot have (a 401 the console reports as an error).
const HINT = 'tradebot.signed-in';

/** Whether this browser was signed in when it last ran the app (its cookie may restore it). */
export function mayHaveSession(): boolean {
  try {
    return globalThis.localStorage?.getItem(HINT) === '1';
  } catch {
    return true; // storage blocked: ask the server
  }
}

function rememberSignedIn(signedIn: boolean): void {
  try {
    if (signedIn) globalThis.localStorage?.setItem(HINT, '1');
    else globalThis.localStorage?.removeItem(HINT);
  } catch {
    // storage blocked: every start asks the server
  }
}

/** Sign in with a token (valid for `expiresInS` seconds), or out with null. */
export function setToken(next: string | null, expiresInS?: number): void {
  rememberSignedIn(next !== null);
  expiresAt = next && expiresInS ? Date.now() + expiresInS * 1000 : Number.POSITIVE_INFINITY;
  if (next === getToken() && state.status !== 'restoring') return;
  state = next ? { status: 'signed-in', token: next } : { status: 'signed-out' };
  listeners.forEach((listener) => listener());
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The current token; re-renders when the user signs in or out. */
export function useToken(): string | null {
  return useSyncExternalStore(subscribe, getToken, getToken);
}

/** Restoring, signed in or signed out; re-renders on every change. */
export function useAuthState(): AuthState {
  return useSyncExternalStore(subscribe, getAuthState, getAuthState);
}
