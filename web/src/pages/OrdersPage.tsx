import { useState } from 'react';
import { useSearch } from 'wouter';
import { FormError } from '../components/Field';
import { mapErrors } from '../lib/api/problem';
import { useTradeHistory } from '../features/orders/api';
import { TradeDetail } from '../features/orders/TradeDetail';
import { TradeList } from '../features/orders/TradeList';
import { useCancelAll, type TradeFilters, type TradeStatus } from '../features/trade/api';
import { useDebounced } from '../lib/useDebounced';

const STATUSES: TradeStatus[] = ['PENDING', 'RECONCILING', 'NEW', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'REJECTED', 'EXPIRED', 'FAILED'];

function startOfDay(date: string, end: boolean): string | undefined {
  return date ? `${date}T${end ? '23:59:59' : '00:00:00'}Z` : undefined;
}

export default function OrdersPage() {
  const params = new URLSearchParams(useSearch());
  const [selected, setSelected] = useState<string | null>(params.get('trade'));
  const [symbol, setSymbol] = useState('');
  const [status, setStatus] = useState<TradeStatus | ''>('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const settledSymbol = useDebounced(symbol.trim().toUpperCase(), 300);
  const filters: TradeFilters = {
    ...(settledSymbol ? { symbol: settledSymbol } : {}),
    ...(status ? { status } : {}),
    ...(since ? { since: startOfDay(since, false) } : {}),
    ...(until ? { until: startOfDay(until, true) } : {}),
  };
  const history = useTradeHistory(filters);
  const cancelAll = useCancelAll();
  const trades = history.data?.pages.flatMap((p) => p.items) ?? [];

  return (
    <main id="main" className="page">
      <div className="page-head">
        <h1>Orders and history</h1>
        <button type="button" className="danger" disabled={cancelAll.isPending}
          onClick={() => window.confirm('Cancel every open order?') && cancelAll.mutate()}>
          Cancel all open orders
        </button>
      </div>
      {cancelAll.data && <p role="status">Canceled {cancelAll.data.canceled}; {cancelAll.data.reconciling} being looked up.</p>}
      <FormError message={mapErrors(cancelAll.error ?? history.error, []).form} />
      <div className="filters">
        <div className="field"><label htmlFor="f-symbol">Symbol</label>
          <input id="f-symbol" value={symbol} onChange={(e) => setSymbol(e.target.value)} autoComplete="off" /></div>
        <div className="field"><label htmlFor="f-status">Status</label>
          <select id="f-status" value={status} onChange={(e) => setStatus(e.target.value as TradeStatus | '')}>
            <option value="">Any</option>
            {STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select></div>
        <div className="field"><label htmlFor="f-since">From (UTC)</label>
          <input id="f-since" type="date" value={since} onChange={(e) => setSince(e.target.value)} /></div>
        <div className="field"><label htmlFor="f-until">To (UTC)</label>
          <input id="f-until" type="date" value={until} onChange={(e) => setUntil(e.target.value)} /></div>
      </div>
      <div className="orders-layout">
        <div>
          <TradeList trades={trades} selected={selected} onSelect={setSelected} />
          {history.isSuccess && trades.length === 0 && <p className="muted">No trades match.</p>}
          {history.hasNextPage && (
            <button type="button" onClick={() => void history.fetchNextPage()} disabled={history.isFetchingNextPage}>
              Load more
            </button>
          )}
        </div>
        {selected && <TradeDetail id={selected} />}
      </div>
    </main>
  );
}
