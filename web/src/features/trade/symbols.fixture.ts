/** Test data: snapshot symbols as GET /api/market/symbols lists them (layer's symbols.json). */
import type { SymbolFilters } from './filters';

export const BTC: SymbolFilters = {
  symbol: 'BTCUSDT',
  base_asset: 'BTC',
  quote_asset: 'USDT',
  tick_size: '0.01',
  step_size: '0.00001',
  min_qty: '0.00001',
  min_notional: '5',
  max_qty: '9000',
  min_price: '0.01',
  max_price: '1000000',
  max_notional: '9000000',
  apply_min_to_market: true,
  apply_max_to_market: false,
  market_min_qty: '0',
  market_max_qty: '86.60698795',
  market_step_size: '0',
  bid_multiplier_up: '5',
  bid_multiplier_down: '0.2',
  ask_multiplier_up: '5',
  ask_multiplier_down: '0.2',
  max_num_orders: 200,
  quote_precision: 8,
};

export const DOGE: SymbolFilters = {
  ...BTC,
  symbol: 'DOGEUSDT',
  base_asset: 'DOGE',
  tick_size: '0.00001',
  step_size: '1',
  min_qty: '1',
  max_qty: '9000000',
  min_price: '0.00001',
  max_price: '1000',
  market_max_qty: '6307451.11597222',
};

export const SHIB: SymbolFilters = {
  ...BTC,
  symbol: 'SHIBUSDT',
  base_asset: 'SHIB',
  tick_size: '0.00000001',
  step_size: '1',
  min_qty: '1',
  max_qty: '92233720368',
  min_price: '0.00000001',
  max_price: '1',
  market_max_qty: '92233720368',
};

/** Only the fields an older API listed: every newer rule reads as "not applied". */
export const BARE: SymbolFilters = {
  ...BTC,
  max_qty: '0',
  min_price: '0',
  max_price: '0',
  max_notional: '0',
  market_max_qty: '0',
  bid_multiplier_up: '0',
  bid_multiplier_down: '0',
  ask_multiplier_up: '0',
  ask_multiplier_down: '0',
  max_num_orders: 0,
};
