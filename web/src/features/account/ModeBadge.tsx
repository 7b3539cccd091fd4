import { useVenue } from './api';

const TEXT = {
  paper: 'PAPER — simulated money',
  testnet: 'TESTNET — Binance test exchange',
  live: 'LIVE — real money',
} as const;

/** Where orders go, on every screen, in a colour that cannot be missed. */
export function ModeBadge() {
  const venue = useVenue();
  if (!venue) return null;
  return (
    <div className={`mode-badge mode-${venue}`} role="status" aria-live="polite" data-testid="mode-badge">
      {TEXT[venue]}
    </div>
  );
}
