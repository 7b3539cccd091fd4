import { useVirtualizer } from '@tanstack/react-virtual';
import { useRef } from 'react';
import { formatDecimal, formatMoney } from '../../lib/format';
import { Time } from '../../components/Time';
import type { Trade } from '../trade/api';

const ROW_PX = 44;

/** A virtualized list: only the rows in view are in the DOM, smooth at 10,000 trades. */
export function TradeList({ trades, selected, onSelect }: { trades: Trade[]; selected: string | null; onSelect: (id: string) => void }) {
  const scroller = useRef<HTMLDivElement>(null);
  // The virtualizer re-renders this component itself; nothing here is memoized by the compiler.
  // eslint-disable-next-line react-hooks/incompatible-library
  const rows = useVirtualizer({
    count: trades.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_PX,
    overscan: 10,
  });
  return (
    <div ref={scroller} className="virtual-list" role="listbox" aria-label="Trades" tabIndex={0}
      onKeyDown={(e) => {
        const at = trades.findIndex((t) => t.id === selected);
        const next = e.key === 'ArrowDown' ? at + 1 : e.key === 'ArrowUp' ? at - 1 : null;
        if (next === null) return;
        e.preventDefault();
        const trade = trades[Math.max(0, Math.min(trades.length - 1, next))];
        if (trade) {
          onSelect(trade.id);
          rows.scrollToIndex(trades.indexOf(trade));
        }
      }}
      aria-activedescendant={selected ? `trade-${selected}` : undefined}>
      <div className="virtual-rows" style={{ height: rows.getTotalSize(), position: 'relative' }}>
        {rows.getVirtualItems().map((row) => {
          const t = trades[row.index]!;
          return (
            <div key={t.id} id={`trade-${t.id}`} role="option" aria-selected={t.id === selected}
              className={`trade-row ${t.id === selected ? 'selected' : ''}`} data-testid="trade-row"
              style={{ position: 'absolute', top: 0, left: 0, right: 0, height: ROW_PX, transform: `translateY(${row.start}px)` }}
              onClick={() => onSelect(t.id)}>
              <span className={t.side === 'BUY' ? 'gain' : 'loss'}>{t.side}</span>
              <span>{t.symbol}</span>
              <span className="muted">{t.type.replaceAll('_', ' ')}</span>
              <span className="num">{formatDecimal(t.quantity ?? t.quote_quantity)}</span>
              <span className="num">{formatMoney(t.avg_price ?? t.price)}</span>
              <span className="badge">{t.status}</span>
              <span className="muted"><Time iso={t.created_at} /></span>
            </div>
          );
        })}
      </div>
    </div>
  );
}
