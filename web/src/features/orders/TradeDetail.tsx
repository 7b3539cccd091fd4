import type { ReactNode } from 'react';
import { Link } from 'wouter';
import { FormError } from '../../components/Field';
import { Time } from '../../components/Time';
import { mapErrors } from '../../lib/api/problem';
import { formatDecimal, formatMoney } from '../../lib/format';
import { CANCELABLE, useCancelTrade, useTrade } from '../trade/api';

/** One trade: fills, fees, reason, venue; cancel while open; a journal note about it. */
export function TradeDetail({ id }: { id: string }) {
  const trade = useTrade(id).data;
  const cancel = useCancelTrade();
  if (!trade) return <p className="muted">Loading…</p>;
  const rows: [string, ReactNode][] = [
    ['Status', <span className="badge" data-testid="detail-status">{trade.status}</span>],
    ['Venue', trade.venue],
    ['Quantity', formatDecimal(trade.quantity)],
    ['Quote amount', formatDecimal(trade.quote_quantity)],
    ['Limit price', formatMoney(trade.price)],
    ['Stop price', formatMoney(trade.stop_price)],
    ['Executed', formatDecimal(trade.executed_qty)],
    ['Average price', formatMoney(trade.avg_price)],
    ['Fees', trade.fees.length ? trade.fees.map((f) => `${formatDecimal(f.amount)} ${f.asset}`).join(', ') : '—'],
    ['Reason', trade.reason ?? '—'],
    ['Exchange order', trade.exchange_order_id ?? '—'],
    ['Created', <Time iso={trade.created_at} />],
    ['Updated', <Time iso={trade.updated_at} />],
  ];
  return (
    <section className="card detail" aria-labelledby="detail-title">
      <h2 id="detail-title">{trade.side} {trade.type.replaceAll('_', ' ')} {trade.symbol}</h2>
      <dl className="facts">
        {rows.map(([label, value]) => (
          <div key={label} className="fact"><dt>{label}</dt><dd>{value}</dd></div>
        ))}
      </dl>
      <FormError message={mapErrors(cancel.error, []).form} />
      <div className="actions">
        {CANCELABLE.has(trade.status) && (
          <button type="button" className="danger" onClick={() => cancel.mutate(trade.id)} disabled={cancel.isPending}>
            Cancel order
          </button>
        )}
        <Link href={`/journal?trade=${trade.id}`} className="button">Write a note about this trade</Link>
      </div>
    </section>
  );
}
