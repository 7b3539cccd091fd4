import { useState, type FormEvent } from 'react';
import { Field, FormError } from '../../components/Field';
import { ApiError, mapErrors } from '../../lib/api/problem';
import { useChangePassword } from './api';

const FIELDS = ['current_password', 'new_password'] as const;

/** Change the password; every other session ends at once. */
export function PasswordCard() {
  const change = useChangePassword();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const errors = mapErrors(change.error, FIELDS);
  // A 401 here is the current password's answer.
  const wrongPassword = change.error instanceof ApiError && change.error.status === 401;
  const currentError = errors.fields.current_password ?? (wrongPassword ? errors.form : undefined);

  async function submit(event: FormEvent) {
    event.preventDefault();
    try {
      await change.mutateAsync({ current_password: current, new_password: next });
      setCurrent('');
      setNext('');
    } catch {
      // shown next to the fields
    }
  }

  return (
    <section className="card" aria-labelledby="password-title">
      <h2 id="password-title">Password</h2>
      <form onSubmit={submit} noValidate>
        <Field label="Current password" type="password" autoComplete="current-password" value={current}
          onChange={(e) => setCurrent(e.target.value)} error={currentError} />
        <Field label="New password" type="password" autoComplete="new-password" minLength={12} value={next}
          onChange={(e) => setNext(e.target.value)} error={errors.fields.new_password}
          hint="At least 12 characters. Your other sessions are signed out." />
        {!wrongPassword && <FormError message={errors.form} />}
        {change.isSuccess && <p role="status">Password changed; other sessions were signed out.</p>}
        <div className="actions">
          <button type="submit" className="primary" disabled={change.isPending || !current || !next}>Change password</button>
        </div>
      </form>
    </section>
  );
}
