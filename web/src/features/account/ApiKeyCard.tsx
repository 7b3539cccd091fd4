import { useId, useState, type FormEvent } from 'react';
import { Field, FormError } from '../../components/Field';
import { Time } from '../../components/Time';
import { mapErrors } from '../../lib/api/problem';
import { useApiKey, useDeleteApiKey, useStoreApiKey } from './api';

const FIELDS = ['api_key', 'api_secret', 'private_key', 'testnet'] as const;

/** The Binance key: masked when stored, a form to store one, and delete (back to paper). */
export function ApiKeyCard() {
  const key = useApiKey();
  const store = useStoreApiKey();
  const remove = useDeleteApiKey();
  const [apiKey, setApiKey] = useState('');
  const [secret, setSecret] = useState('');
  const [keyType, setKeyType] = useState<'hmac' | 'ed25519'>('hmac');
  const [privateKey, setPrivateKey] = useState('');
  const [testnet, setTestnet] = useState(true);
  const pemId = useId();
  const errors = mapErrors(store.error ?? remove.error, FIELDS);

  async function submit(event: FormEvent) {
    event.preventDefault();
    try {
      await store.mutateAsync(keyType === 'hmac'
        ? { api_key: apiKey, api_secret: secret, testnet }
        : { api_key: apiKey, private_key: privateKey, testnet });
      setApiKey('');
      setSecret('');
      setPrivateKey('');
    } catch {
      // shown next to the fields
    }
  }

  return (
    <section className="card" aria-labelledby="key-title">
      <h2 id="key-title">Exchange key</h2>
      {key.data ? (
        <dl className="facts">
          <dt>Key</dt>
          <dd><code>{key.data.api_key_hint}</code></dd>
          <dt>Account</dt>
          <dd>{key.data.testnet ? 'Binance testnet' : 'Binance live'}</dd>
          <dt>Type</dt>
          <dd>{key.data.key_type === 'ed25519' ? 'Ed25519' : 'HMAC'}</dd>
          <dt>Status</dt>
          <dd data-testid="key-status">
            {key.data.status === 'valid' ? 'Valid' : <strong className="field-error">Invalid{key.data.invalid_reason ? `: ${key.data.invalid_reason}` : ''}</strong>}
          </dd>
          <dt>Permissions</dt>
          <dd>{key.data.permissions.length ? key.data.permissions.join(', ') : '—'}</dd>
          <dt>IP restriction</dt>
          <dd>{key.data.ip_restricted === null ? 'Unknown' : key.data.ip_restricted ? 'Restricted to trusted IPs' : 'None (consider restricting it on Binance)'}</dd>
          <dt>Stored</dt>
          <dd><Time iso={key.data.created_at} /></dd>
        </dl>
      ) : (
        key.isSuccess && <p className="muted">No key stored: orders trade on paper.</p>
      )}
      <form onSubmit={submit} noValidate>
        <Field label="API key" autoComplete="off" value={apiKey} onChange={(e) => setApiKey(e.target.value)} error={errors.fields.api_key} />
        <fieldset className="inline">
          <legend>Key type</legend>
          <label className="check"><input type="radio" name="key-type" checked={keyType === 'hmac'} onChange={() => setKeyType('hmac')} /> HMAC</label>
          <label className="check"><input type="radio" name="key-type" checked={keyType === 'ed25519'} onChange={() => setKeyType('ed25519')} /> Ed25519</label>
        </fieldset>
        {keyType === 'hmac' ? (
          <Field label="API secret" type="password" autoComplete="off" value={secret} onChange={(e) => setSecret(e.target.value)} error={errors.fields.api_secret} />
        ) : (
          <div className="field">
            <label htmlFor={pemId}>Ed25519 private key (PEM)</label>
            <textarea id={pemId} spellCheck={false} autoComplete="off" value={privateKey} onChange={(e) => setPrivateKey(e.target.value)}
              placeholder="-----BEGIN PRIVATE KEY-----" aria-invalid={errors.fields.private_key ? true : undefined}
              aria-describedby={errors.fields.private_key ? `${pemId}-error` : undefined} />
            {errors.fields.private_key && <p id={`${pemId}-error`} className="field-error" role="alert">{errors.fields.private_key}</p>}
          </div>
        )}
        <label className="check">
          <input type="checkbox" checked={testnet} onChange={(e) => setTestnet(e.target.checked)} /> Testnet key (no real money)
        </label>
        <FormError message={errors.form} />
        <div className="actions">
          <button type="submit" className="primary" disabled={store.isPending || !apiKey || !(keyType === 'hmac' ? secret : privateKey)}>
            {key.data ? 'Replace key' : 'Store key'}
          </button>
          {key.data && (
            <button type="button" className="danger" disabled={remove.isPending}
              onClick={() => window.confirm('Forget the key and trade on paper?') && remove.mutate()}>
              Delete key
            </button>
          )}
        </div>
      </form>
    </section>
  );
}
