// Public market data: current prices (settable by tests) and deterministic synthetic tickers,
// order books, candles and public trades derived from (seed, symbol, time bucket).

import { errors } from './errors.js';
import { buildMarkets, exchangeInfoEntry, RATE_LIMITS, type MarketSpec } from './markets.js';
import { floorToStep, fmt, r8, roundToStep } from './numbers.js';
import { unit } from './prng.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Binance kline intervals → milliseconds (1M approximated as 30 days). */
export const INTERVALS: Readonly<Record<string, number>> = {
  '1s': 1000,
  '1m': MINUTE,
  '3m': 3 * MINUTE,
  '5m': 5 * MINUTE,
  '15m': 15 * MINUTE,
  '30m': 30 * MINUTE,
  '1h': HOUR,
  '2h': 2 * HOUR,
  '4h': 4 * HOUR,
  '6h': 6 * HOUR,
  '8h': 8 * HOUR,
  '12h': 12 * HOUR,
  '1d': DAY,
  '3d': 3 * DAY,
  '1w': 7 * DAY,
  '1M': 30 * DAY,
};

/** Weekly candles open on Monday 00:00 UTC; 1970-01-01 was a Thursday. */
function alignment(interval: string): number {
  return interval === '1w' ? 4 * DAY : 0;
}

export interface TradeWindow {
  fromId?: number | undefined;
  startTime?: number | undefined;
  endTime?: number | undefined;
  limit: number;
}

interface SyntheticTrade {
  id: number;
  price: number;
  qty: number;
  time: number;
  buyerMaker: boolean;
}

export class MarketData {
  readonly markets: readonly MarketSpec[];
  private readonly bySymbol = new Map<string, MarketSpec>();
  private readonly prices = new Map<string, number>();
  private readonly symbolsJson: string;
  private readonly entryJson = new Map<string, string>();

  constructor(
    extraMarkets: number,
    readonly seed: number,
  ) {
    this.markets = buildMarkets(extraMarkets, seed);
    const parts: string[] = [];
    for (const m of this.markets) {
      this.bySymbol.set(m.symbol, m);
      this.prices.set(m.symbol, m.initialPrice);
      const json = JSON.stringify(exchangeInfoEntry(m));
      this.entryJson.set(m.symbol, json);
      parts.push(json);
    }
    // exchangeInfo is the heaviest response (≈1 KB per market); serialise the symbols once.
    this.symbolsJson = '[' + parts.join(',') + ']';
  }

  get(symbol: string): MarketSpec | undefined {
    return this.bySymbol.get(symbol);
  }

  /** The market for a request's `symbol` parameter, or Binance's -1102 / -1121. */
  require(symbol: string | undefined): MarketSpec {
    if (symbol === undefined || symbol === '') throw errors.mandatory('symbol');
    const m = this.bySymbol.get(symbol);
    if (m === undefined) throw errors.invalidSymbol();
    return m;
  }

  /** Markets named by a `symbols=["A","B"]` JSON parameter (Binance syntax). */
  requireMany(raw: string): MarketSpec[] {
    let ids: unknown;
    try {
      ids = JSON.parse(raw);
    } catch {
      throw errors.illegal('symbols');
    }
    if (!Array.isArray(ids) || ids.length === 0) throw errors.illegal('symbols');
    return ids.map((id) => this.require(String(id)));
  }

  price(symbol: string): number {
    const p = this.prices.get(symbol);
    if (p === undefined) throw new Error(`fake-exchange: unknown symbol ${symbol}`);
    return p;
  }

  setPrice(symbol: string, price: number): void {
    const m = this.bySymbol.get(symbol);
    if (m === undefined) throw new Error(`fake-exchange: unknown symbol ${symbol}`);
    if (!(price > 0)) throw new Error(`fake-exchange: price must be positive, got ${price}`);
    this.prices.set(symbol, roundToStep(price, m.tickSize) || Number(m.tickSize));
  }

  exchangeInfoBody(now: number, only?: readonly MarketSpec[]): string {
    const symbols = only === undefined ? this.symbolsJson : '[' + only.map((m) => this.entryJson.get(m.symbol)).join(',') + ']';
    return (
      `{"timezone":"UTC","serverTime":${now},"rateLimits":${JSON.stringify(RATE_LIMITS)},` +
      `"exchangeFilters":[],"symbols":${symbols}}`
    );
  }

  bidAsk(m: MarketSpec): { bid: number; ask: number } {
    const p = this.price(m.symbol);
    const tick = Number(m.tickSize);
    const half = Math.max(tick, roundToStep(p * 0.00005, m.tickSize));
    return { bid: Math.max(tick, r8(p - half)), ask: r8(p + half) };
  }

  private levelQty(m: MarketSpec, ...labels: Array<string | number>): number {
    const p = this.price(m.symbol);
    const q = ((50 + unit(this.seed, 'qty', m.symbol, ...labels) * 950) / p) * 1.0;
    return Math.max(Number(m.minQty), floorToStep(q, m.stepSize));
  }

  ticker24hr(m: MarketSpec, now: number): Record<string, unknown> {
    const last = this.price(m.symbol);
    const day = Math.floor(now / DAY);
    const u = (k: string) => unit(this.seed, 'tick24', m.symbol, day, k);
    const open = Math.max(Number(m.tickSize), roundToStep(last * (1 + (u('chg') - 0.5) * 0.1), m.tickSize));
    const high = roundToStep(Math.max(open, last) * (1 + u('hi') * 0.02), m.tickSize);
    const low = Math.max(Number(m.tickSize), roundToStep(Math.min(open, last) * (1 - u('lo') * 0.02), m.tickSize));
    const volume = floorToStep((1_000_000 * (0.5 + u('vol'))) / last, m.stepSize);
    const wavg = r8((open + last + high + low) / 4);
    const { bid, ask } = this.bidAsk(m);
    const count = 1000 + Math.floor(u('cnt') * 100_000);
    const lastId = Math.floor(now / 1000);
    return {
      symbol: m.symbol,
      priceChange: fmt(last - open),
      priceChangePercent: (((last - open) / open) * 100).toFixed(3),
      weightedAvgPrice: fmt(wavg),
      prevClosePrice: fmt(open),
      lastPrice: fmt(last),
      lastQty: fmt(this.levelQty(m, 'last', lastId)),
      bidPrice: fmt(bid),
      bidQty: fmt(this.levelQty(m, 'bid', 0)),
      askPrice: fmt(ask),
      askQty: fmt(this.levelQty(m, 'ask', 0)),
      openPrice: fmt(open),
      highPrice: fmt(high),
      lowPrice: fmt(low),
      volume: fmt(volume),
      quoteVolume: fmt(volume * wavg),
      openTime: now - DAY,
      closeTime: now,
      firstId: lastId - count + 1,
      lastId,
      count,
    };
  }

  bookTicker(m: MarketSpec): Record<string, unknown> {
    const { bid, ask } = this.bidAsk(m);
    return {
      symbol: m.symbol,
      bidPrice: fmt(bid),
      bidQty: fmt(this.levelQty(m, 'bid', 0)),
      askPrice: fmt(ask),
      askQty: fmt(this.levelQty(m, 'ask', 0)),
    };
  }

  depth(m: MarketSpec, limit: number, now: number): Record<string, unknown> {
    const { bid, ask } = this.bidAsk(m);
    const tick = Number(m.tickSize);
    const bids: string[][] = [];
    const asks: string[][] = [];
    for (let i = 0; i < limit; i++) {
      const b = r8(bid - i * tick);
      if (b > 0) bids.push([fmt(b), fmt(this.levelQty(m, 'bid', i))]);
      asks.push([fmt(r8(ask + i * tick)), fmt(this.levelQty(m, 'ask', i))]);
    }
    return { lastUpdateId: Math.floor(now / 100), bids, asks };
  }

  /** Anchor price at a candle boundary: within ±1% of the current price. */
  private anchor(m: MarketSpec, interval: string, t: number): number {
    const p = this.price(m.symbol);
    return Math.max(Number(m.tickSize), roundToStep(p * (1 + (unit(this.seed, 'kl', m.symbol, interval, t) - 0.5) * 0.02), m.tickSize));
  }

  klines(
    m: MarketSpec,
    interval: string,
    opts: { startTime?: number | undefined; endTime?: number | undefined; limit: number },
    now: number,
  ): unknown[][] {
    const iv = INTERVALS[interval];
    if (iv === undefined) throw errors.invalidInterval();
    const off = alignment(interval);
    const floorOpen = (t: number) => Math.floor((t - off) / iv) * iv + off;
    const lastOpen = floorOpen(Math.min(now, opts.endTime ?? now));
    let first: number;
    if (opts.startTime !== undefined) {
      first = Math.ceil((opts.startTime - off) / iv) * iv + off;
    } else {
      first = lastOpen - (opts.limit - 1) * iv;
    }
    const rows: unknown[][] = [];
    for (let t = first; t <= lastOpen && rows.length < opts.limit; t += iv) {
      const open = this.anchor(m, interval, t);
      const current = t + iv > now;
      const close = current ? this.price(m.symbol) : this.anchor(m, interval, t + iv);
      const u = (k: string) => unit(this.seed, 'kx', m.symbol, interval, t, k);
      const high = roundToStep(Math.max(open, close) * (1 + u('h') * 0.005), m.tickSize);
      const low = Math.max(Number(m.tickSize), roundToStep(Math.min(open, close) * (1 - u('l') * 0.005), m.tickSize));
      const volume = floorToStep(((iv / MINUTE) * 2000 * (0.2 + u('v'))) / close, m.stepSize);
      const quoteVolume = volume * ((open + close) / 2);
      rows.push([
        t,
        fmt(open),
        fmt(high),
        fmt(low),
        fmt(close),
        fmt(volume),
        t + iv - 1,
        fmt(quoteVolume),
        10 + Math.floor(u('n') * 1000),
        fmt(floorToStep(volume / 2, m.stepSize)),
        fmt(quoteVolume / 2),
        '0',
      ]);
    }
    return rows;
  }

  /** One synthetic public trade per second per market; trade id k happens during second k. */
  private syntheticTrade(m: MarketSpec, id: number): SyntheticTrade {
    const p = this.price(m.symbol);
    const u = (k: string) => unit(this.seed, 'trade', m.symbol, id, k);
    return {
      id,
      price: Math.max(Number(m.tickSize), roundToStep(p * (1 + (u('p') - 0.5) * 0.002), m.tickSize)),
      qty: this.levelQty(m, 'trade', id),
      time: id * 1000 + Math.floor(u('ms') * 1000),
      buyerMaker: u('m') < 0.5,
    };
  }

  private tradeIds(w: TradeWindow, now: number): number[] {
    const latest = Math.floor(now / 1000) - 1;
    let from: number;
    let to: number;
    if (w.fromId !== undefined) {
      from = w.fromId;
      to = Math.min(latest, from + w.limit - 1);
    } else if (w.startTime !== undefined || w.endTime !== undefined) {
      const end = Math.min(latest, Math.floor((w.endTime ?? now) / 1000));
      const start = w.startTime !== undefined ? Math.ceil(w.startTime / 1000) - 1 : end - w.limit + 1;
      from = Math.max(start, end - 3600);
      to = Math.min(end, from + w.limit - 1);
    } else {
      to = latest;
      from = latest - w.limit + 1;
    }
    const ids: number[] = [];
    for (let id = Math.max(0, from); id <= to; id++) ids.push(id);
    return ids;
  }

  aggTrades(m: MarketSpec, w: TradeWindow, now: number): Record<string, unknown>[] {
    return this.tradeIds(w, now)
      .map((id) => this.syntheticTrade(m, id))
      .filter((t) => (w.startTime === undefined || t.time >= w.startTime) && (w.endTime === undefined || t.time <= w.endTime))
      .map((t) => ({ a: t.id, p: fmt(t.price), q: fmt(t.qty), f: t.id, l: t.id, T: t.time, m: t.buyerMaker, M: true }));
  }

  trades(m: MarketSpec, w: TradeWindow, now: number): Record<string, unknown>[] {
    return this.tradeIds(w, now)
      .map((id) => this.syntheticTrade(m, id))
      .map((t) => ({
        id: t.id,
        price: fmt(t.price),
        qty: fmt(t.qty),
        quoteQty: fmt(t.price * t.qty),
        time: t.time,
        isBuyerMaker: t.buyerMaker,
        isBestMatch: true,
      }));
  }
}
