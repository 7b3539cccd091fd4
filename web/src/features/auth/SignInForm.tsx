import { useState, type FormEvent } from 'react';
import { Field, FormError } from '../../components/Field';
import { ApiError, mapErrors } from '../../lib/api/problem';
import { useLogin, useRegister } from './api';

const FIELDS = ['email', 'password'] as const;

/** Sign in, or create an account and sign in with it. */
export function SignInForm() {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  // Shown once the login answered otp-required: 2FA is on for this account.
  const [otpStep, setOtpStep] = useState(false);
  const [otp, setOtp] = useState('');
  const login = useLogin();
  const register = useRegister();
  const failed = register.error ?? login.error;
  const otpAsked = failed instanceof ApiError && failed.kind === 'otp-required';
  const errors = mapErrors(otpAsked ? null : failed, FIELDS);
  // The first ask is not an error; a wrong code is (the server says which).
  const otpError = otpAsked && login.variables?.otp ? failed.problem.detail : null;
  const busy = login.isPending || register.isPending;

  async function submit(event: FormEvent) {
    event.preventDefault();
    login.reset();
    register.reset();
    try {
      if (mode === 'register') await register.mutateAsync({ email, password });
      await login.mutateAsync({ email, password, ...(otpStep && otp ? { otp: otp.trim() } : {}) });
    } catch (error) {
      // shown next to the fields by mapErrors; otp-required opens the code step
      if (error instanceof ApiError && error.kind === 'otp-required') setOtpStep(true);
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
      {otpStep && mode === 'login' && (
        <Field label="Authentication code" inputMode="numeric" autoComplete="one-time-code" autoFocus required
          value={otp} onChange={(e) => setOtp(e.target.value)} error={otpError}
          hint="The 6-digit code of your authenticator app, or one of your recovery codes." />
      )}
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
