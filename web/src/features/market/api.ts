import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../lib/api/client';

export type HistoryWindow = '1h' | '24h';

export const marketKeys = {
  symbols: ['market', 'symbols'] as const,
  prices: ['market', 'prices'] as const,
  history: (symbol: string, window: HistoryWindow) => ['market', 'history', symbol, window] as const,
};

export function useSymbols() {
  return useQuery({
    queryKey: marketKeys.symbols,
    queryFn: () => unwrap(api.GET('/api/market/symbols')),
    staleTime: 10 * 60_000,
    select: (list) => list.items,
  });
}

/** Every cached price, refreshed as often as the updater runs locally. */
export function usePrices() {
  return useQuery({
    queryKey: marketKeys.prices,
    queryFn: () => unwrap(api.GET('/api/market/prices')),
    refetchInterval: 5_000,
    select: (list) => new Map(list.items.map((p) => [p.symbol, p])),
  });
}

export function usePriceHistory(symbol: string, window: HistoryWindow) {
  return useQuery({
    queryKey: marketKeys.history(symbol, window),
    queryFn: () =>
      unwrap(api.GET('/api/market/prices/{symbol}/history', { params: { path: { symbol }, query: { window } } })),
    refetchInterval: 30_000,
    select: (list) => list.items,
  });
}
