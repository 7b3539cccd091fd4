import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap, type Schemas } from '../../lib/api/client';
import { logout } from '../../lib/auth/session';
import { setToken, useToken } from '../../lib/auth/token';

export const authKeys = {
  me: ['auth', 'me'] as const,
};

export function useMe() {
  const token = useToken();
  return useQuery({
    queryKey: authKeys.me,
    queryFn: () => unwrap(api.GET('/api/auth/me')),
    enabled: token !== null,
    staleTime: 30_000,
  });
}

export function useLogin() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas['LoginRequest']) => unwrap(api.POST('/api/auth/login', { body })),
    onSuccess: (reply) => {
      client.clear();
      setToken(reply.access_token, reply.expires_in);
    },
  });
}

export function useRegister() {
  return useMutation({
    mutationFn: (body: Schemas['Credentials']) => unwrap(api.POST('/api/auth/register', { body })),
  });
}

/** End the session on the server (the refresh cookie goes too), forget the token and every cached answer. */
export function useSignOut() {
  const client = useQueryClient();
  return async () => {
    await logout().catch(() => undefined);
    client.clear();
  };
}
