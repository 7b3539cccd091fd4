import { useState, type FormEvent } from 'react';
import { Field, FormError } from '../../components/Field';
import { ApiError, mapErrors } from '../../lib/api/problem';
import { useDeleteAccount } from './api';

/** Erase the account and its data, after the password and a typed confirmation. */
export function DeleteAccountCard() {
  const remove = useDeleteAccount();
  const [password, setPassword] = useState('');
  const [confirmation, setConfirmation] = useState('');
  const errors = mapErrors(remove.error, ['password']);
  const openOrders = remove.error instanceof ApiError ? remove.error.problem.open_orders ?? [] : [];

  async function submit(event: FormEvent) {
    event.preventDefault();
    try {
      await remove.mutateAsync(password);
    } catch {
      // shown below
    }
  }

  return (
    <section className="card" aria-labelledby="delete-title">
      <h2 id="delete-title">Delete the account</h2>
      <form onSubmit={submit} noValidate>
        <p className="muted">Cancels open orders, forgets the exchange key and erases your trades, notes and sessions. This cannot be undone.</p>
        <Field label="Password (to delete the account)" type="password" autoComplete="current-password" value={password}
          onChange={(e) => setPassword(e.target.value)} error={errors.fields.password} />
        <Field label='Type "delete my account" to confirm' autoComplete="off" value={confirmation}
          onChange={(e) => setConfirmation(e.target.value)} />
        <FormError message={errors.form} />
        {openOrders.length > 0 && (
          <ul aria-label="Orders that may still be open">
            {openOrders.map((order) => <li key={order.id}>{order.symbol} — {order.status}</li>)}
          </ul>
        )}
        <div className="actions">
          <button type="submit" className="danger" disabled={remove.isPending || !password || confirmation !== 'delete my account'}>
            Delete my account
          </button>
        </div>
      </form>
    </section>
  );
}
