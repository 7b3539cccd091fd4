import { formatDecimal, formatMoney, formatPercent } from '../../lib/format';
import type { Schemas } from '../../lib/api/client';

type Dashboard = Schemas['Dashboard'];

function pnlClass(value: string | null | undefined): string {
  if (!value) return '';
  return value.startsWith('-') ? 'loss' : /[1-9]/.test(value) ? 'gain' : '';
}

/** Realized PnL, win rate, volume, open orders: the headline numbers. */
export function Summary({ data }: { data: Dashboard }) {
  const stats: [string, string, string][] = [
    ['Realized PnL', formatMoney(data.realized_pnl), pnlClass(data.realized_pnl)],
    ['Win rate', formatPercent(data.win_rate), ''],
    ['Volume', formatMoney(data.volume), ''],
    ['Trades', String(data.trades_total), ''],
    ['Open orders', String(data.open_orders), ''],
  ];
  return (
    <dl className="stats" aria-label="Performance">
      {stats.map(([label, value, tone]) => (
        <div key={label} className="stat">
          <dt>{label}</dt>
          <dd className={`num ${tone}`} data-testid={`stat-${label.toLowerCase().replaceAll(' ', '-')}`}>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

export function Balances({ balances }: { balances: Dashboard['balances'] }) {
  return (
    <table className="table" aria-label="Balances">
      <thead>
        <tr><th scope="col">Asset</th><th scope="col" className="num">Free</th><th scope="col" className="num">Locked</th></tr>
      </thead>
      <tbody>
        {balances.map((b) => (
          <tr key={b.asset} data-testid={`balance-${b.asset}`}>
            <th scope="row">{b.asset}</th>
            <td className="num">{formatDecimal(b.free)}</td>
            <td className="num">{formatDecimal(b.locked)}</td>
          </tr>
        ))}
        {balances.length === 0 && <tr><td colSpan={3} className="muted">No balances</td></tr>}
      </tbody>
    </table>
  );
}

export function Positions({ positions }: { positions: Dashboard['positions'] }) {
  return (
    <table className="table" aria-label="Positions">
      <thead>
        <tr>
          <th scope="col">Symbol</th><th scope="col" className="num">Quantity</th><th scope="col" className="num">Avg entry</th>
          <th scope="col" className="num">Last</th><th scope="col" className="num">Unrealized PnL</th>
        </tr>
      </thead>
      <tbody>
        {positions.map((p) => (
          <tr key={p.symbol} data-testid={`position-${p.symbol}`}>
            <th scope="row">{p.symbol}</th>
            <td className="num">{formatDecimal(p.quantity)}</td>
            <td className="num">{formatMoney(p.avg_entry_price)}</td>
            <td className="num">{formatMoney(p.last_price)}</td>
            <td className={`num ${pnlClass(p.unrealized_pnl)}`}>{formatMoney(p.unrealized_pnl)}</td>
          </tr>
        ))}
        {positions.length === 0 && <tr><td colSpan={5} className="muted">No positions yet: place an order on the Trade page.</td></tr>}
      </tbody>
    </table>
  );
}
