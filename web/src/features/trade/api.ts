import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap, type Schemas } from '../../lib/api/client';
import { dashboardKeys } from '../dashboard/api';

export type Trade = Schemas['TradePublic'];
export type TradeStatus = Trade['status'];

export interface TradeFilters {
  symbol?: string;
  status?: TradeStatus;
  since?: string;
  until?: string;
}

export const tradeKeys = {
  all: ['trades'] as const,
  list: (filters: TradeFilters) => ['trades', 'list', filters] as const,
  detail: (id: string) => ['trades', 'detail', id] as const,
};

export const FINAL: ReadonlySet<TradeStatus> = new Set(['FILLED', 'CANCELED', 'REJECTED', 'EXPIRED', 'FAILED']);
export const CANCELABLE: ReadonlySet<TradeStatus> = new Set(['PENDING', 'NEW', 'PARTIALLY_FILLED']);

/** Place an order with the ticket's Idempotency-Key: a retried submit never places twice. */
export function usePlaceOrder() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ body, key }: { body: Schemas['TradeCreate']; key: string }) =>
      unwrap(api.POST('/api/trading/trades', { body, params: { header: { 'idempotency-key': key } } })),
    onSuccess: (trade) => {
      client.setQueryData(tradeKeys.detail(trade.id), trade);
      void client.invalidateQueries({ queryKey: tradeKeys.all });
      void client.invalidateQueries({ queryKey: dashboardKeys.all });
    },
  });
}

/** One trade, followed every second until its status is final. */
export function useTrade(id: string | null) {
  return useQuery({
    queryKey: tradeKeys.detail(id ?? ''),
    enabled: id !== null,
    queryFn: () => unwrap(api.GET('/api/trading/trades/{trade_id}', { params: { path: { trade_id: id! } } })),
    refetchInterval: (query) => (query.state.data && FINAL.has(query.state.data.status) ? false : 1_000),
  });
}

export function useCancelTrade() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      unwrap(api.DELETE('/api/trading/trades/{trade_id}', { params: { path: { trade_id: id } } })),
    onSuccess: (trade) => {
      client.setQueryData(tradeKeys.detail(trade.id), trade);
      void client.invalidateQueries({ queryKey: tradeKeys.all });
      void client.invalidateQueries({ queryKey: dashboardKeys.all });
    },
  });
}

export function useCancelAll() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST('/api/trading/cancel-all')),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: tradeKeys.all });
      void client.invalidateQueries({ queryKey: dashboardKeys.all });
    },
  });
}
