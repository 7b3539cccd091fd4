import { OrderTicket } from '../features/trade/OrderTicket';

export default function TradePage() {
  return (
    <main id="main" className="page">
      <OrderTicket />
    </main>
  );
}
