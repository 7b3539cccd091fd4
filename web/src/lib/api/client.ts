/**
 * The typed API client: openapi-fetch over `schema.d.ts`, which `npm run api` generates from the
 * repository's openapi.json (a test checks it is current; never edit it by hand).
 */
import createClient from 'openapi-fetch';
import { authFetch } from '../auth/session';
import { toApiError } from './problem';
import type { paths } from './schema';

// Every call goes through authFetch: the bearer token, a silent refresh on 401 (one for many
// calls), and the step-up prompt on 401 otp-required (lib/auth/session.ts).
export const api = createClient<paths>({
  baseUrl: globalThis.location?.origin ?? '',
  // Looked up on each call (not captured once), so tests can stand in for the network.
  fetch: (request) => authFetch(request),
});

/** The data of an openapi-fetch result, or its problem thrown as an ApiError. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch {
    throw toApiError(0, null);
  }
  if (result.error !== undefined || !result.response.ok) {
    throw toApiError(result.response.status, result.error);
  }
  return result.data as T;
}

export type { components, paths } from './schema';
export type Schemas = import('./schema').components['schemas'];
