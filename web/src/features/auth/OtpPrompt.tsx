import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Field } from '../../components/Field';
import { useOtpRequest } from '../../lib/auth/otp';

/** The step-up dialog: asked for by any call the API answers 401 otp-required. */
export function OtpPrompt() {
  const request = useOtpRequest();
  const dialog = useRef<HTMLDialogElement>(null);
  const [code, setCode] = useState('');

  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (request && !element.open) element.showModal?.();
    if (!request && element.open) element.close();
  }, [request]);

  function submit(event: FormEvent) {
    event.preventDefault();
    const value = code.trim();
    setCode('');
    request?.answer(value);
  }

  function cancel() {
    setCode('');
    request?.answer(null);
  }

  return (
    <dialog ref={dialog} className="card otp-dialog" aria-labelledby="otp-title" onCancel={(e) => { e.preventDefault(); cancel(); }}>
      {request && (
        <form onSubmit={submit} noValidate>
          <h2 id="otp-title">Confirm with your authenticator</h2>
          <p className="muted">Two-factor authentication is on: this change needs a current code.</p>
          <Field label="Authentication code" inputMode="numeric" autoComplete="one-time-code" autoFocus
            value={code} onChange={(e) => setCode(e.target.value)} error={request.error}
            hint="6 digits, or one of your recovery codes." />
          <div className="actions">
            <button type="submit" className="primary" disabled={!code.trim()}>Confirm</button>
            <button type="button" onClick={cancel}>Cancel</button>
          </div>
        </form>
      )}
    </dialog>
  );
}
