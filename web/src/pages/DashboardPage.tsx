import { Balances, Positions, Summary } from '../features/dashboard/Portfolio';
import { useDashboard } from '../features/dashboard/api';
import { OpenOrders } from '../features/dashboard/OpenOrders';
import { Watchlist } from '../features/dashboard/Watchlist';
import { PriceChart } from '../features/market/PriceChart';
import { Link } from 'wouter';
import { FormError } from '../components/Field';

export default function DashboardPage() {
  const dashboard = useDashboard();
  const data = dashboard.data;
  const charted = data?.positions.length ? data.positions.map((p) => p.symbol) : ['BTCUSDT'];
  return (
    <main id="main" className="page">
      <h1>Dashboard</h1>
      <FormError message={dashboard.error?.message} />
      {data?.key_status === 'invalid' && (
        <p className="form-error" role="alert" data-testid="key-invalid">
          The exchange refused your stored key: it is not used until you store a key anew.{' '}
          <Link href="/account">Open the account page</Link>
        </p>
      )}
      {data && <Summary data={data} />}
      <div className="grid-2">
        <section className="card" aria-labelledby="balances-title">
          <h2 id="balances-title">Balances</h2>
          {data && <Balances balances={data.balances} />}
        </section>
        <section className="card" aria-labelledby="prices-title">
          <h2 id="prices-title">Prices</h2>
          <Watchlist />
        </section>
      </div>
      <section className="card" aria-labelledby="positions-title">
        <h2 id="positions-title">Positions</h2>
        {data && <Positions positions={data.positions} />}
      </section>
      <section className="card" aria-labelledby="open-title">
        <h2 id="open-title">Open orders</h2>
        <OpenOrders />
      </section>
      <section className="card" aria-labelledby="charts-title">
        <h2 id="charts-title">Charts</h2>
        <div className="charts">
          {charted.slice(0, 6).map((symbol) => <PriceChart key={symbol} symbol={symbol} />)}
        </div>
      </section>
    </main>
  );
}
