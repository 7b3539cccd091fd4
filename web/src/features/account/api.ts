import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap, type Schemas } from '../../lib/api/client';
import { ApiError } from '../../lib/api/problem';
import { setToken, useToken } from '../../lib/auth/token';
import { authKeys, useMe } from '../auth/api';

export const accountKeys = {
  apiKey: ['account', 'api-key'] as const,
  limits: ['account', 'limits'] as const,
  events: ['account', 'events'] as const,
  sessions: ['account', 'sessions'] as const,
};

/** The stored exchange key, masked; null when none is stored (404). */
export function useApiKey() {
  const token = useToken();
  return useQuery({
    queryKey: accountKeys.apiKey,
    enabled: token !== null,
    queryFn: async () => {
      try {
        return await unwrap(api.GET('/api/account/api-keys'));
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      }
    },
    staleTime: 30_000,
  });
}

export type Venue = 'paper' | 'testnet' | 'live';

/** Where orders go right now: paper (no key), testnet or live (the stored key's). */
export function useVenue(): Venue | null {
  const me = useMe();
  const key = useApiKey();
  if (!me.data) return null;
  if (me.data.trading_mode === 'paper') return 'paper';
  if (key.data === undefined) return null;
  return key.data?.testnet ? 'testnet' : 'live';
}

function useInvalidateMode() {
  const client = useQueryClient();
  return () => {
    void client.invalidateQueries({ queryKey: accountKeys.apiKey });
    void client.invalidateQueries({ queryKey: authKeys.me });
    void client.invalidateQueries({ queryKey: ['dashboard'] });
    void client.invalidateQueries({ queryKey: accountKeys.events });
  };
}

export function useStoreApiKey() {
  const invalidate = useInvalidateMode();
  return useMutation({
    mutationFn: (body: Schemas['ApiKeyCreate']) => unwrap(api.PUT('/api/account/api-keys', { body })),
    onSuccess: invalidate,
  });
}

export function useDeleteApiKey() {
  const invalidate = useInvalidateMode();
  return useMutation({
    mutationFn: () => unwrap(api.DELETE('/api/account/api-keys')),
    onSuccess: invalidate,
  });
}

export function useLimits() {
  return useQuery({ queryKey: accountKeys.limits, queryFn: () => unwrap(api.GET('/api/account/limits')) });
}

export function useUpdateLimits() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas['LimitsUpdate']) => unwrap(api.PUT('/api/account/limits', { body })),
    onSuccess: (limits) => {
      client.setQueryData(accountKeys.limits, limits);
      void client.invalidateQueries({ queryKey: accountKeys.events });
    },
  });
}

export function useSecurityEvents() {
  return useInfiniteQuery({
    queryKey: accountKeys.events,
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(api.GET('/api/account/events', { params: { query: { limit: 50, cursor: pageParam } } })),
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });
}

export function useSessions() {
  return useQuery({
    queryKey: accountKeys.sessions,
    queryFn: () => unwrap(api.GET('/api/account/sessions', { params: { query: { limit: 200 } } })),
  });
}

export function useRevokeSession() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (sessionId: string) =>
      unwrap(api.DELETE('/api/account/sessions/{session_id}', { params: { path: { session_id: sessionId } } })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: accountKeys.sessions });
      void client.invalidateQueries({ queryKey: accountKeys.events });
    },
  });
}

export function useChangePassword() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas['PasswordChange']) => unwrap(api.PUT('/api/account/password', { body })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: accountKeys.sessions });
      void client.invalidateQueries({ queryKey: accountKeys.events });
    },
  });
}

export function useStartTwoFactor() {
  return useMutation({ mutationFn: () => unwrap(api.POST('/api/account/2fa')) });
}

export function useConfirmTwoFactor() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (otp: string) => unwrap(api.POST('/api/account/2fa/confirm', { body: { otp } })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: authKeys.me });
      void client.invalidateQueries({ queryKey: accountKeys.events });
    },
  });
}

export function useDisableTwoFactor() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (password: string) => unwrap(api.DELETE('/api/account/2fa', { body: { password } })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: authKeys.me });
      void client.invalidateQueries({ queryKey: accountKeys.events });
    },
  });
}

/** Erase the account; signed out once it is gone. */
export function useDeleteAccount() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (password: string) => unwrap(api.DELETE('/api/account', { body: { password } })),
    onSuccess: () => {
      setToken(null);
      client.clear();
    },
  });
}
