/**
 * The access token, in memory only (never localStorage): a reload signs the user out until the
 * refresh cookie route exists (contract v2, issue 11); then `setRefresher` restores it silently.
 */
import { useSyncExternalStore } from 'react';

let token: string | null = null;
const listeners = new Set<() => void>();

export function getToken(): string | null {
  return token;
}

export function setToken(next: string | null): void {
  if (next === token) return;
  token = next;
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
