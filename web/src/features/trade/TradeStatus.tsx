import { formatDecimal, formatMoney } from '../../lib/format';
import { FINAL, useTrade, type TradeStatus as Status } from './api';

const MEANING: Record<Status, string> = {
  PENDING: 'Accepted and queued; it is being sent to the exchange.',
  RECONCILING:
    'The exchange was asked, but its answer was lost. The order may exist, so it is never sent again: the bot is looking it up and will show what the exchange says.',
  NEW: 'Open on the exchange, waiting for the market to reach its price.',
  PARTIALLY_FILLED: 'Part of it has filled; the rest is still open.',
  FILLED: 'Filled.',
  CANCELED: 'Canceled.',
  REJECTED: 'The exchange refused it.',
  EXPIRED: 'It expired without filling completely.',
  FAILED: 'It was not placed on the exchange.',
};

/** A placed order's status, followed live until it is final, in plain words. */
export function TradeStatus({ id }: { id: string }) {
  const trade = useTrade(id).data;
  if (!trade) return null;
  const done = FINAL.has(trade.status);
  return (
    <div className={`trade-status status-${trade.status.toLowerCase()}`} role="status" aria-live="polite" data-testid="trade-status">
      <p>
        <strong>{trade.side} {trade.type.replaceAll('_', ' ')} {trade.symbol}</strong>: <span className="badge" data-testid="trade-status-value">{trade.status}</span>
        {!done && <span className="spinner" aria-hidden="true" />}
      </p>
      <p className="muted">{MEANING[trade.status]}{trade.reason ? ` ${trade.reason}` : ''}</p>
      {trade.executed_qty !== '0' && (
        <p>Executed {formatDecimal(trade.executed_qty)} at {formatMoney(trade.avg_price)}; fee {formatDecimal(trade.fee)} {trade.fee_asset ?? ''}</p>
      )}
    </div>
  );
}
