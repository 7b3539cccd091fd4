import { useEffect, useRef, useState } from 'react';
import type uPlot from 'uplot';
import { usePriceHistory, type HistoryWindow } from './api';

/**
 * A symbol's price over the last hour or day, from the history route, drawn with uPlot (~20 KB,
 * loaded with the page that shows it). Canvas needs numbers: the decimal strings become floats
 * here for plotting only, never for arithmetic.
 */
export function PriceChart({ symbol }: { symbol: string }) {
  const [window, setWindow] = useState<HistoryWindow>('1h');
  const history = usePriceHistory(symbol, window);
  const box = useRef<HTMLDivElement>(null);
  const points = history.data;

  useEffect(() => {
    const node = box.current;
    if (!node || !points || points.length === 0) return;
    let chart: uPlot | null = null;
    let cancelled = false;
    void Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]).then(([{ default: UPlot }]) => {
      if (cancelled) return;
      const styles = getComputedStyle(node);
      const stroke = styles.getPropertyValue('--accent').trim() || '#2563eb';
      const axis = { stroke: styles.getPropertyValue('--muted').trim() || '#666', grid: { stroke: 'rgba(128,128,128,.15)' } };
      chart = new UPlot(
        {
          width: node.clientWidth || 320,
          height: 160,
          legend: { show: false },
          cursor: { y: false },
          scales: { x: { time: true } },
          axes: [axis, { ...axis, size: 70 }],
          series: [{}, { label: symbol, stroke, width: 2 }],
        },
        [points.map((p) => Date.parse(p.t) / 1000), points.map((p) => Number(p.price))],
        node,
      );
    });
    return () => {
      cancelled = true;
      chart?.destroy();
    };
  }, [points, symbol]);

  return (
    <figure className="chart" aria-label={`${symbol} price, last ${window}`}>
      <figcaption>
        <span>{symbol}</span>
        <span role="group" aria-label="Chart window" className="segmented">
          {(['1h', '24h'] as const).map((w) => (
            <button key={w} type="button" aria-pressed={window === w} onClick={() => setWindow(w)}>
              {w}
            </button>
          ))}
        </span>
      </figcaption>
      {points && points.length === 0 && <p className="muted">No price history yet: points arrive with each price update.</p>}
      <div ref={box} className="chart-canvas" />
    </figure>
  );
}
