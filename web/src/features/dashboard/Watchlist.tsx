import { formatMoney } from '../../lib/format';
import { usePrices } from '../market/api';

const WATCHED = ['BTCUSDT', 'ETHUSDT', 'BNBUSDT', 'SOLUSDT', 'XRPUSDT'];

/** Latest prices of the big symbols (and a warning when the cache has not updated). */
export function Watchlist() {
  const prices = usePrices();
  return (
    <table className="table" aria-label="Prices">
      <thead><tr><th scope="col">Symbol</th><th scope="col" className="num">Price</th></tr></thead>
      <tbody>
        {WATCHED.map((symbol) => {
          const price = prices.data?.get(symbol);
          return (
            <tr key={symbol} data-testid={`price-${symbol}`}>
              <th scope="row">{symbol}</th>
              <td className="num">
                {price ? formatMoney(price.price) : '—'}
                {price?.stale && <span className="warn" title="Not updated for minutes"> stale</span>}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
