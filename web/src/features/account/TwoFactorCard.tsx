import { useState, type FormEvent } from 'react';
import { encode } from 'uqr';
import { Field, FormError } from '../../components/Field';
import { mapErrors } from '../../lib/api/problem';
import { useMe } from '../auth/api';
import { useConfirmTwoFactor, useDisableTwoFactor, useStartTwoFactor } from './api';

/** The otpauth URI as an SVG QR code (one path of dark modules, crisp at any size). */
function QrCode({ text }: { text: string }) {
  const { data, size } = encode(text, { ecc: 'M', border: 2 });
  let path = '';
  data.forEach((row, y) => row.forEach((dark, x) => { if (dark) path += `M${x} ${y}h1v1h-1z`; }));
  return (
    <svg className="qr" viewBox={`0 0 ${size} ${size}`} role="img" aria-label="QR code for your authenticator app" shapeRendering="crispEdges">
      <path d={path} fill="#000" />
    </svg>
  );
}

function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <div>
      <p role="status"><strong>Two-factor authentication is on.</strong> Keep these recovery codes somewhere safe: each signs you in once
        without your phone, and they are shown only now.</p>
      <ol className="codes" data-testid="recovery-codes">{codes.map((code) => <li key={code}><code>{code}</code></li>)}</ol>
      <div className="actions">
        <button type="button" onClick={() => void navigator.clipboard?.writeText(codes.join('\n')).then(() => setCopied(true))}>
          {copied ? 'Copied' : 'Copy the codes'}
        </button>
        <button type="button" className="primary" onClick={onDone}>I have saved them</button>
      </div>
    </div>
  );
}

/** 2FA: enrol (QR code and secret, then a code to confirm, then the recovery codes) or turn off. */
export function TwoFactorCard() {
  const me = useMe();
  const start = useStartTwoFactor();
  const confirm = useConfirmTwoFactor();
  const disable = useDisableTwoFactor();
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const [codes, setCodes] = useState<string[] | null>(null);
  const enabled = me.data?.two_factor ?? false;
  const confirmErrors = mapErrors(confirm.error, ['otp']);
  const startErrors = mapErrors(start.error, []);
  const disableErrors = mapErrors(disable.error, ['password']);

  async function submitCode(event: FormEvent) {
    event.preventDefault();
    try {
      const reply = await confirm.mutateAsync(code.trim());
      setCodes(reply.recovery_codes);
      setCode('');
      start.reset();
    } catch {
      // shown next to the field
    }
  }

  async function submitDisable(event: FormEvent) {
    event.preventDefault();
    try {
      await disable.mutateAsync(password);
      setPassword('');
    } catch {
      // shown next to the field
    }
  }

  let body;
  if (codes) {
    body = <RecoveryCodes codes={codes} onDone={() => setCodes(null)} />;
  } else if (enabled) {
    body = (
      <form onSubmit={submitDisable} noValidate>
        <p>Two-factor authentication is <strong>on</strong>: signing in and sensitive changes ask for a code.</p>
        <Field label="Password (to turn 2FA off)" type="password" autoComplete="current-password" value={password}
          onChange={(e) => setPassword(e.target.value)} error={disableErrors.fields.password ?? disableErrors.form} />
        <div className="actions">
          <button type="submit" className="danger" disabled={disable.isPending || !password}>Turn off 2FA</button>
        </div>
      </form>
    );
  } else if (start.data) {
    body = (
      <form onSubmit={submitCode} noValidate>
        <p>Scan this code with your authenticator app, or enter the secret by hand; then type the code it shows.</p>
        <QrCode text={start.data.otpauth_uri} />
        <p>Secret: <code data-testid="totp-secret">{start.data.secret}</code></p>
        <Field label="Code from the app" inputMode="numeric" autoComplete="one-time-code" value={code}
          onChange={(e) => setCode(e.target.value)} error={confirmErrors.fields.otp ?? confirmErrors.form} />
        <div className="actions">
          <button type="submit" className="primary" disabled={confirm.isPending || !code.trim()}>Turn on 2FA</button>
        </div>
      </form>
    );
  } else {
    body = (
      <>
        <p className="muted">Two-factor authentication is off. With it on, a stolen password alone cannot sign in.</p>
        <FormError message={startErrors.form} />
        <button type="button" className="primary" disabled={start.isPending || !me.data} onClick={() => start.mutate()}>Set up 2FA</button>
      </>
    );
  }
  return (
    <section className="card" aria-labelledby="twofa-title">
      <h2 id="twofa-title">Two-factor authentication</h2>
      {body}
    </section>
  );
}
