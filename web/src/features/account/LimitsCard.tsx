import { useState, type FormEvent } from 'react';
import { Field, FormError } from '../../components/Field';
import { mapErrors } from '../../lib/api/problem';
import type { Schemas } from '../../lib/api/client';
import { useLimits, useUpdateLimits } from './api';

type Limits = Schemas['LimitsPublic'];
const FIELDS = ['max_open_orders', 'max_orders_per_minute', 'max_order_notional', 'max_daily_notional', 'password'] as const;

/** Risk limits and the pause switch; loosening a limit or unpausing asks for the password. */
export function LimitsCard() {
  const limits = useLimits();
  const update = useUpdateLimits();
  // The user's edits over the stored limits (server state stays in the query).
  const [edits, setEdits] = useState<Partial<Limits>>({});
  const [password, setPassword] = useState('');
  const errors = mapErrors(update.error, FIELDS);

  const draft = limits.data ? { ...limits.data, ...edits } : null;
  if (!draft) return <section className="card"><h2>Risk limits</h2><p className="muted">Loading…</p></section>;

  const change = (patch: Partial<Limits>) => setEdits({ ...edits, ...patch });

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!draft) return;
    try {
      await update.mutateAsync({
        max_open_orders: draft.max_open_orders,
        max_orders_per_minute: draft.max_orders_per_minute,
        max_order_notional: draft.max_order_notional,
        max_daily_notional: draft.max_daily_notional,
        ...(password ? { password } : {}),
      });
      setPassword('');
      setEdits({});
    } catch {
      // shown next to the fields
    }
  }

  function togglePause(paused: boolean) {
    // Pausing applies at once; resuming needs the password (asked in the form below).
    if (paused) update.mutate({ trading_paused: true });
    else update.mutate({ trading_paused: false, ...(password ? { password } : {}) });
  }

  return (
    <section className="card" aria-labelledby="limits-title">
      <h2 id="limits-title">Risk limits</h2>
      <label className="switch">
        <input type="checkbox" role="switch" checked={limits.data?.trading_paused ?? false}
          onChange={(e) => togglePause(e.target.checked)} disabled={update.isPending} />
        Pause trading (new orders are refused; cancels still work)
      </label>
      <form onSubmit={submit} noValidate className="grid-2">
        <Field label="Max open orders" inputMode="numeric" value={String(draft.max_open_orders)}
          onChange={(e) => change({ max_open_orders: Number.parseInt(e.target.value || '0', 10) })} error={errors.fields.max_open_orders} />
        <Field label="Max orders per minute" inputMode="numeric" value={String(draft.max_orders_per_minute)}
          onChange={(e) => change({ max_orders_per_minute: Number.parseInt(e.target.value || '0', 10) })} error={errors.fields.max_orders_per_minute} />
        <Field label="Max order value" inputMode="decimal" value={draft.max_order_notional}
          onChange={(e) => change({ max_order_notional: e.target.value })} error={errors.fields.max_order_notional} />
        <Field label="Max daily value" inputMode="decimal" value={draft.max_daily_notional}
          onChange={(e) => change({ max_daily_notional: e.target.value })} error={errors.fields.max_daily_notional} />
        <Field label="Password (to raise a limit or resume)" type="password" autoComplete="current-password"
          value={password} onChange={(e) => setPassword(e.target.value)} error={errors.fields.password} />
        <FormError message={errors.form} />
        <div className="actions">
          <button type="submit" className="primary" disabled={update.isPending}>Save limits</button>
        </div>
      </form>
    </section>
  );
}
