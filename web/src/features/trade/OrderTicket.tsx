import { useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { Field, FormError } from '../../components/Field';
import { mapErrors } from '../../lib/api/problem';
import { formatDecimal, formatMoney } from '../../lib/format';
import { useNow } from '../../lib/useNow';
import { useVenue } from '../account/api';
import { useDashboard } from '../dashboard/api';
import { usePrices, useSymbols } from '../market/api';
import { SymbolSearch } from '../market/SymbolSearch';
import { usePlaceOrder } from './api';
import { checkTicket, orderBody, shareOfBalance, type Issue, type Ticket, type TicketField } from './ticket';
import { priceHint, quantityHint, quoteHint } from './hints';
import { TradeStatus } from './TradeStatus';

const FIELDS: readonly string[] = ['quantity', 'quote_quantity', 'price', 'stop_price', 'symbol', 'side', 'type'];
const STALE_AFTER_MS = 30_000;

const EMPTY: Ticket = {
  symbol: 'BTCUSDT',
  side: 'BUY',
  type: 'MARKET',
  amountMode: 'quantity',
  quantity: '',
  quoteQuantity: '',
  price: '',
  stopPrice: '',
};

function newKey(): string {
  return crypto.randomUUID();
}

/** The order ticket: filters checked as typed, one Idempotency-Key per ticket, status after 202. */
export function OrderTicket() {
  const [ticket, setTicket] = useState<Ticket>(EMPTY);
  const [touched, setTouched] = useState<Partial<Record<TicketField, boolean>>>({});
  const [placedId, setPlacedId] = useState<string | null>(null);
  // The same body keeps its key (a retry after a lost answer is recognised); a changed body is a
  // new order and gets a new key (the API answers 409 to a reused key with another body).
  const sent = useRef<{ key: string; body: string } | null>(null);
  const symbols = useSymbols();
  const prices = usePrices();
  const dashboard = useDashboard();
  const venue = useVenue();
  const place = usePlaceOrder();

  const filters = symbols.data?.find((s) => s.symbol === ticket.symbol);
  const price = prices.data?.get(ticket.symbol);
  const now = useNow();
  const stale = price ? price.stale || now - Date.parse(price.updated_at) > STALE_AFTER_MS : false;
  const check = useMemo(
    () => (filters ? checkTicket(ticket, filters, price?.price ?? null) : null),
    [ticket, filters, price?.price],
  );
  const serverErrors = mapErrors(place.error, FIELDS);
  const byQuote = ticket.type === 'MARKET' && ticket.amountMode === 'quote_quantity';
  const freeAsset = filters ? (ticket.side === 'BUY' ? filters.quote_asset : filters.base_asset) : null;
  const free = dashboard.data?.balances.find((b) => b.asset === freeAsset)?.free ?? '0';

  const update = (patch: Partial<Ticket>) => {
    setTicket((t) => ({ ...t, ...patch }));
    place.reset();
  };

  // A filter breach (it has a nearest valid value) shows as the trader types; "required" and
  // "not a number" wait until the field is left, so a half-typed "0." is not scolded.
  function issueFor(field: TicketField): Issue | undefined {
    const issue = check?.issues.find((i) => i.field === field);
    return issue && (touched[field] || issue.nearest !== undefined) ? issue : undefined;
  }

  function fieldError(field: TicketField): { error?: string; action?: ReactNode } {
    const server = serverErrors.fields[field];
    if (server) return { error: server };
    const issue = issueFor(field);
    if (!issue) return {};
    const key = field === 'quote_quantity' ? 'quoteQuantity' : field === 'stop_price' ? 'stopPrice' : field;
    return {
      error: issue.message,
      action: issue.nearest ? (
        <button type="button" className="link" onClick={() => update({ [key]: issue.nearest })}>
          Use {issue.nearest}
        </button>
      ) : undefined,
    };
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setTouched({ quantity: true, quote_quantity: true, price: true, stop_price: true });
    if (!check || check.issues.length > 0) return;
    if (venue === 'live' && !window.confirm(`Place this order with REAL money on Binance?`)) return;
    const body = orderBody(ticket);
    const text = JSON.stringify(body);
    if (!sent.current || sent.current.body !== text) sent.current = { key: newKey(), body: text };
    try {
      const trade = await place.mutateAsync({ body, key: sent.current.key });
      setPlacedId(trade.id);
      sent.current = null; // the next ticket is a new order
      setTicket((t) => ({ ...t, quantity: '', quoteQuantity: '' }));
      setTouched({});
    } catch {
      // shown next to the fields
    }
  }

  function fillShare(percent: number) {
    if (!filters) return;
    const share = shareOfBalance(ticket, filters, free, percent, price?.price ?? null);
    if (!share) return;
    update(share.field === 'quantity' ? { quantity: share.value } : { quoteQuantity: share.value });
    setTouched((t) => ({ ...t, [share.field]: true }));
  }

  const touch = (field: TicketField) => () => setTouched((t) => ({ ...t, [field]: true }));

  return (
    <div className="ticket-layout">
      <form className="card ticket" onSubmit={submit} noValidate aria-labelledby="ticket-title">
        <h1 id="ticket-title">New order</h1>
        <SymbolSearch value={ticket.symbol} onChange={(symbol) => update({ symbol })} />
        <p className="price-line" data-testid="ticket-price">
          {price ? <>Last price <strong className="num">{formatMoney(price.price, filters?.quote_asset)}</strong></> : 'No price yet'}
          {stale && <span className="warn" role="alert"> The price is out of date: the market may have moved.</span>}
        </p>
        <fieldset className="segmented" aria-label="Side">
          <legend>Side</legend>
          {(['BUY', 'SELL'] as const).map((side) => (
            <label key={side} className={`seg ${side.toLowerCase()}`}>
              <input type="radio" name="side" value={side} checked={ticket.side === side} onChange={() => update({ side })} />
              {side === 'BUY' ? 'Buy' : 'Sell'}
            </label>
          ))}
        </fieldset>
        <div className="field">
          <label htmlFor="order-type">Order type</label>
          <select id="order-type" value={ticket.type} onChange={(e) => update({ type: e.target.value as Ticket['type'] })}>
            <option value="MARKET">Market</option>
            <option value="LIMIT">Limit</option>
            <option value="STOP_LOSS_LIMIT">Stop-loss limit</option>
          </select>
        </div>
        {ticket.type === 'MARKET' && ticket.side === 'BUY' && (
          <fieldset className="segmented" aria-label="Amount in">
            <legend>Amount in</legend>
            <label className="seg">
              <input type="radio" name="amount" checked={!byQuote} onChange={() => update({ amountMode: 'quantity' })} />
              {filters?.base_asset ?? 'Base'}
            </label>
            <label className="seg">
              <input type="radio" name="amount" checked={byQuote} onChange={() => update({ amountMode: 'quote_quantity' })} />
              {filters?.quote_asset ?? 'Quote'}
            </label>
          </fieldset>
        )}
        {ticket.type === 'STOP_LOSS_LIMIT' && (
          <Field label="Stop price" inputMode="decimal" autoComplete="off" value={ticket.stopPrice}
            onChange={(e) => update({ stopPrice: e.target.value })} onBlur={touch('stop_price')}
            hint={filters && priceHint(filters)} {...fieldError('stop_price')} />
        )}
        {ticket.type !== 'MARKET' && (
          <Field label="Limit price" inputMode="decimal" autoComplete="off" value={ticket.price}
            onChange={(e) => update({ price: e.target.value })} onBlur={touch('price')}
            hint={filters && priceHint(filters, ticket.side, price?.price ?? null)} {...fieldError('price')} />
        )}
        {byQuote ? (
          <Field label={`Spend (${filters?.quote_asset ?? 'quote'})`} inputMode="decimal" autoComplete="off"
            value={ticket.quoteQuantity} onChange={(e) => update({ quoteQuantity: e.target.value })}
            onBlur={touch('quote_quantity')} hint={filters && quoteHint(filters)}
            {...fieldError('quote_quantity')} />
        ) : (
          <Field label={`Quantity (${filters?.base_asset ?? 'base'})`} inputMode="decimal" autoComplete="off"
            value={ticket.quantity} onChange={(e) => update({ quantity: e.target.value })} onBlur={touch('quantity')}
            hint={filters && quantityHint(filters, ticket.type)}
            {...fieldError('quantity')} />
        )}
        <div className="shares" role="group" aria-label="Share of available balance">
          <span className="muted">Available {formatDecimal(free)} {freeAsset}</span>
          {[25, 50, 75, 100].map((p) => (
            <button key={p} type="button" onClick={() => fillShare(p)}>{p}%</button>
          ))}
        </div>
        <dl className="facts">
          <dt>Total{ticket.type === 'MARKET' && !byQuote ? ' (estimated)' : ''}</dt>
          <dd className="num" data-testid="ticket-total">{check?.total ? formatMoney(check.total, filters?.quote_asset) : '—'}</dd>
          <dt>Fee (estimated)</dt>
          <dd className="num">{check?.fee ? formatMoney(check.fee, filters?.quote_asset) : '—'}</dd>
        </dl>
        <FormError message={serverErrors.form} />
        <button type="submit" className={`primary ${ticket.side === 'SELL' ? 'sell' : 'buy'}`} disabled={place.isPending || !filters}>
          {place.isPending ? 'Placing…' : `${ticket.side === 'BUY' ? 'Buy' : 'Sell'} ${filters?.base_asset ?? ''}`}
        </button>
      </form>
      {placedId && (
        <section className="card" aria-label="Placed order">
          <h2>Your order</h2>
          <TradeStatus id={placedId} />
        </section>
      )}
    </div>
  );
}
