import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../lib/api/client';

export const dashboardKeys = {
  all: ['dashboard'] as const,
};

export function useDashboard() {
  return useQuery({
    queryKey: dashboardKeys.all,
    queryFn: () => unwrap(api.GET('/api/dashboard')),
    refetchInterval: 5_000,
  });
}
