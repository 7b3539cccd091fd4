import { useState, type FormEvent } from 'react';
import { Field, FormError } from '../../components/Field';
import { Time } from '../../components/Time';
import { mapErrors } from '../../lib/api/problem';
import { useApiKey, useDeleteApiKey, useStoreApiKey } from './api';

const FIELDS = ['api_key', 'api_secret', 'testnet'] as const;

/** The Binance key: masked when stored, a form to store one, and delete (back to paper). */
export function ApiKeyCard() {
  const key = useApiKey();
  const store = useStoreApiKey();
  const remove = useDeleteApiKey();
  const [apiKey, setApiKey] = useState('');
  const [secret, setSecret] = useState('');
  const [testnet, setTestnet] = useState(true);
  const errors = mapErrors(store.error ?? remove.error, FIELDS);

  async function submit(event: FormEvent) {
    event.preventDefault();
    try {
      await store.mutateAsync({ api_key: apiKey, api_secret: secret, testnet });
      setApiKey('');
      setSecret('');
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
          <dt>Stored</dt>
          <dd><Time iso={key.data.created_at} /></dd>
        </dl>
      ) : (
        key.isSuccess && <p className="muted">No key stored: orders trade on paper.</p>
      )}
      <form onSubmit={submit} noValidate>
        <Field label="API key" autoComplete="off" value={apiKey} onChange={(e) => setApiKey(e.target.value)} error={errors.fields.api_key} />
        <Field label="API secret" type="password" autoComplete="off" value={secret} onChange={(e) => setSecret(e.target.value)} error={errors.fields.api_secret} />
        <label className="check">
          <input type="checkbox" checked={testnet} onChange={(e) => setTestnet(e.target.checked)} /> Testnet key (no real money)
        </label>
        <FormError message={errors.form} />
        <div className="actions">
          <button type="submit" className="primary" disabled={store.isPending || !apiKey || !secret}>
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
