import { Link } from 'wouter';
import { formatDecimal, formatMoney } from '../../lib/format';
import { useTradeHistory } from '../orders/api';
import { CANCELABLE, useCancelTrade } from '../trade/api';

/** Orders still open (among the latest 100), each with a cancel button. */
export function OpenOrders() {
  const history = useTradeHistory({});
  const cancel = useCancelTrade();
  const open = (history.data?.pages[0]?.items ?? []).filter((t) => CANCELABLE.has(t.status));
  return (
    <table className="table" aria-label="Open orders">
      <thead>
        <tr>
          <th scope="col">Order</th><th scope="col" className="num">Quantity</th>
          <th scope="col" className="num">Price</th><th scope="col">Status</th><th scope="col"><span className="muted">Action</span></th>
        </tr>
      </thead>
      <tbody>
        {open.map((t) => (
          <tr key={t.id} data-testid="open-order">
            <th scope="row"><Link href={`/orders?trade=${t.id}`}>{t.side} {t.symbol} {t.type.replaceAll('_', ' ')}</Link></th>
            <td className="num">{formatDecimal(t.quantity ?? t.quote_quantity)}</td>
            <td className="num">{formatMoney(t.price)}</td>
            <td><span className="badge">{t.status}</span></td>
            <td><button type="button" onClick={() => cancel.mutate(t.id)} disabled={cancel.isPending}>Cancel</button></td>
          </tr>
        ))}
        {history.isSuccess && open.length === 0 && <tr><td colSpan={5} className="muted">No open orders.</td></tr>}
      </tbody>
    </table>
  );
}
