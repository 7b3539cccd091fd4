import { useInfiniteQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../lib/api/client';
import { tradeKeys, type TradeFilters } from '../trade/api';

/** My trades, newest first, a page of 100 at a time ("load more" follows the cursor). */
export function useTradeHistory(filters: TradeFilters) {
  return useInfiniteQuery({
    queryKey: tradeKeys.list(filters),
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET('/api/trading/trades', {
          params: { query: { limit: 100, cursor: pageParam, ...filters } },
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? undefined,
    refetchInterval: 5_000,
  });
}
