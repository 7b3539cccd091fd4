/**
 * The typed API client: openapi-fetch over `schema.d.ts`, which `npm run api` generates from the
 * repository's openapi.json (a test checks it is current; never edit it by hand).
 */
import createClient, { type Middleware } from 'openapi-fetch';
import { getToken, setToken } from '../auth/token';
import { toApiError } from './problem';
import type { paths } from './schema';

const auth: Middleware = {
  onRequest({ request }) {
    const token = getToken();
    if (token) request.headers.set('Authorization', `Bearer ${token}`);
    return request;
  },
  onResponse({ request, response }) {
    // An expired or revoked token: back to sign-in (a refresh will be tried here first once the
    // refresh route exists).
    if (response.status === 401 && request.headers.has('Authorization')) setToken(null);
    return response;
  },
};

export const api = createClient<paths>({
  baseUrl: globalThis.location?.origin ?? '',
  // Looked up on each call (not captured once), so tests can stand in for the network.
  fetch: (request) => globalThis.fetch(request),
});
api.use(auth);

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
