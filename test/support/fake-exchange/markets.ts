// The market list: a handful of hand-written "core" spot markets plus, on request, N synthetic
// ones (SYN0001/USDT, …) so a benchmark can load a realistically large exchangeInfo.
// Entries follow Binance's /api/v3/exchangeInfo "symbols" shape, including the filters that
// ccxt's parseMarket reads (PRICE_FILTER, LOT_SIZE, MARKET_LOT_SIZE, NOTIONAL).

import { roundToStep } from './numbers.js';
import { unit } from './prng.js';

export interface MarketSpec {
  /** Binance market id, e.g. "BTCUSDT". */
  readonly symbol: string;
  readonly baseAsset: string;
  readonly quoteAsset: string;
  /** Binance decimal strings, 8 decimals. */
  readonly tickSize: string;
  readonly stepSize: string;
  readonly minQty: string;
  readonly maxQty: string;
  readonly minNotional: string;
  /** Price at start (before any test calls setPrice). */
  readonly initialPrice: number;
  readonly synthetic: boolean;
}

/** The order types the fake implements; ccxt refuses other types client-side. */
export const ORDER_TYPES = ['LIMIT', 'LIMIT_MAKER', 'MARKET'] as const;

function dec(decimals: number): string {
  return (10 ** -decimals).toFixed(8);
}

interface CoreSpec {
  base: string;
  quote: string;
  price: number;
  tickDecimals: number;
  stepDecimals: number;
  minNotional: string;
}

const CORE: readonly CoreSpec[] = [
  { base: 'BTC', quote: 'USDT', price: 65000, tickDecimals: 2, stepDecimals: 5, minNotional: '5.00000000' },
  { base: 'ETH', quote: 'USDT', price: 3500, tickDecimals: 2, stepDecimals: 4, minNotional: '5.00000000' },
  { base: 'BNB', quote: 'USDT', price: 600, tickDecimals: 1, stepDecimals: 3, minNotional: '5.00000000' },
  { base: 'SOL', quote: 'USDT', price: 150, tickDecimals: 2, stepDecimals: 3, minNotional: '5.00000000' },
  { base: 'XRP', quote: 'USDT', price: 0.6, tickDecimals: 4, stepDecimals: 1, minNotional: '5.00000000' },
  { base: 'ETH', quote: 'BTC', price: 0.054, tickDecimals: 5, stepDecimals: 4, minNotional: '0.00010000' },
];

/** Assets every account knows about (balances list them even at zero, like Binance). */
export const CORE_ASSETS: readonly string[] = ['BTC', 'ETH', 'BNB', 'SOL', 'XRP', 'USDT'];

/**
 * Build the market list. Prices are jittered by ±1% from a seed so different seeds give
 * different (but reproducible) books.
 */
export function buildMarkets(extra: number, seed: number): MarketSpec[] {
  const out: MarketSpec[] = [];
  for (const c of CORE) {
    const tick = dec(c.tickDecimals);
    const jitter = 1 + (unit(seed, 'core-price', c.base, c.quote) - 0.5) * 0.02;
    out.push({
      symbol: c.base + c.quote,
      baseAsset: c.base,
      quoteAsset: c.quote,
      tickSize: tick,
      stepSize: dec(c.stepDecimals),
      minQty: dec(c.stepDecimals),
      maxQty: '9000000.00000000',
      minNotional: c.minNotional,
      initialPrice: roundToStep(c.price * jitter, tick),
      synthetic: false,
    });
  }
  const width = Math.max(4, String(extra).length);
  for (let i = 1; i <= extra; i++) {
    const base = 'SYN' + String(i).padStart(width, '0');
    // magnitude 10^-3 … 10^2, mantissa 1 … 10
    const e = Math.floor(unit(seed, 'syn-exp', i) * 6) - 3;
    const price = (1 + unit(seed, 'syn-mant', i) * 9) * 10 ** e;
    const tickDecimals = Math.min(8, Math.max(0, 4 - e));
    const stepDecimals = Math.min(8, Math.max(0, e + 2));
    const tick = dec(tickDecimals);
    out.push({
      symbol: base + 'USDT',
      baseAsset: base,
      quoteAsset: 'USDT',
      tickSize: tick,
      stepSize: dec(stepDecimals),
      minQty: dec(stepDecimals),
      maxQty: '90000000.00000000',
      minNotional: '1.00000000',
      initialPrice: Math.max(Number(tick), roundToStep(price, tick)),
      synthetic: true,
    });
  }
  return out;
}

/** One element of exchangeInfo.symbols, Binance spot shape. */
export function exchangeInfoEntry(m: MarketSpec): Record<string, unknown> {
  return {
    symbol: m.symbol,
    status: 'TRADING',
    baseAsset: m.baseAsset,
    baseAssetPrecision: 8,
    quoteAsset: m.quoteAsset,
    quotePrecision: 8,
    quoteAssetPrecision: 8,
    baseCommissionPrecision: 8,
    quoteCommissionPrecision: 8,
    orderTypes: [...ORDER_TYPES],
    icebergAllowed: false,
    ocoAllowed: false,
    otoAllowed: false,
    quoteOrderQtyMarketAllowed: true,
    allowTrailingStop: false,
    cancelReplaceAllowed: false,
    amendAllowed: false,
    isSpotTradingAllowed: true,
    isMarginTradingAllowed: false,
    filters: [
      { filterType: 'PRICE_FILTER', minPrice: m.tickSize, maxPrice: '1000000.00000000', tickSize: m.tickSize },
      { filterType: 'LOT_SIZE', minQty: m.minQty, maxQty: m.maxQty, stepSize: m.stepSize },
      { filterType: 'MARKET_LOT_SIZE', minQty: '0.00000000', maxQty: m.maxQty, stepSize: '0.00000000' },
      {
        filterType: 'NOTIONAL',
        minNotional: m.minNotional,
        applyMinToMarket: true,
        maxNotional: '9000000.00000000',
        applyMaxToMarket: false,
        avgPriceMins: 5,
      },
      { filterType: 'MAX_NUM_ORDERS', maxNumOrders: 200 },
    ],
    permissions: [],
    permissionSets: [['SPOT']],
    defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
    allowedSelfTradePreventionModes: ['EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'],
  };
}

export const RATE_LIMITS = [
  { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 },
  { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100 },
  { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: 200000 },
  { rateLimitType: 'RAW_REQUESTS', interval: 'MINUTE', intervalNum: 5, limit: 61000 },
];
