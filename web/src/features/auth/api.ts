import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap, type Schemas } from '../../lib/api/client';
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
    mutationFn: (body: Schemas['Credentials']) => unwrap(api.POST('/api/auth/login', { body })),
    onSuccess: (reply) => {
      client.clear();
      setToken(reply.access_token);
    },
  });
}

export function useRegister() {
  return useMutation({
    mutationFn: (body: Schemas['Credentials']) => unwrap(api.POST('/api/auth/register', { body })),
  });
}

/** Forget the token and every cached answer (logout on the server comes with issue 11). */
export function useSignOut() {
  const client = useQueryClient();
  return () => {
    setToken(null);
    client.clear();
  };
}
