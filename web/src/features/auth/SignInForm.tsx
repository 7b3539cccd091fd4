import { useState, type FormEvent } from 'react';
import { Field, FormError } from '../../components/Field';
import { mapErrors } from '../../lib/api/problem';
import { useLogin, useRegister } from './api';

const FIELDS = ['email', 'password'] as const;

/** Sign in, or create an account and sign in with it. */
export function SignInForm() {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const login = useLogin();
  const register = useRegister();
  const failed = register.error ?? login.error;
  const errors = mapErrors(failed, FIELDS);
  const busy = login.isPending || register.isPending;

  async function submit(event: FormEvent) {
    event.preventDefault();
    login.reset();
    register.reset();
    try {
      if (mode === 'register') await register.mutateAsync({ email, password });
      await login.mutateAsync({ email, password });
    } catch {
      // shown next to the fields by mapErrors
    }
  }

  return (
    <form className="card auth-form" onSubmit={submit} noValidate aria-labelledby="auth-title">
      <h1 id="auth-title">{mode === 'login' ? 'Sign in' : 'Create an account'}</h1>
      <Field label="Email" type="email" autoComplete="email" required value={email}
        onChange={(e) => setEmail(e.target.value)} error={errors.fields.email} />
      <Field label="Password" type="password" required minLength={12}
        autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
        value={password} onChange={(e) => setPassword(e.target.value)} error={errors.fields.password}
        hint={mode === 'register' ? 'At least 12 characters; a passphrase works well.' : undefined} />
      <FormError message={errors.form} />
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Please wait…' : mode === 'login' ? 'Sign in' : 'Create account'}
      </button>
      <button type="button" className="link" onClick={() => setMode(mode === 'login' ? 'register' : 'login')}>
        {mode === 'login' ? 'New here? Create an account' : 'Have an account? Sign in'}
      </button>
    </form>
  );
}
