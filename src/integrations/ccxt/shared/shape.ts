/**
 * Shaping ccxt's objects into the plain, bounded JSON the ccxt tools return: only the fields a
 * client needs, numbers that are numbers, nulls for what the exchange did not say. Pure
 * functions: no ccxt import, so both the exchange hosts and the benchmark baseline use them.
 */
// ccxt's objects are loosely typed; these read them defensively.
export type Dict = Record<string, any>;

export const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
export const str = (x: unknown): string | null => (typeof x === 'string' ? x : x === undefined || x === null ? null : String(x));

export function minmax(x: unknown): { min: number | null; max: number | null } {
  const o = (x ?? {}) as Dict;
  return { min: num(o.min), max: num(o.max) };
}

export function market(m: Dict) {
  return {
    symbol: String(m.symbol),
    id: str(m.id),
    base: str(m.base),
    quote: str(m.quote),
    type: str(m.type),
    active: typeof m.active === 'boolean' ? m.active : null,
    precision: { price: num(m.precision?.price), amount: num(m.precision?.amount) },
    limits: { amount: minmax(m.limits?.amount), price: minmax(m.limits?.price), cost: minmax(m.limits?.cost) },
  };
}

export function ticker(t: Dict) {
  return {
    symbol: String(t.symbol),
    timestamp: num(t.timestamp),
    datetime: str(t.datetime),
    last: num(t.last),
    bid: num(t.bid),
    ask: num(t.ask),
    high: num(t.high),
    low: num(t.low),
    open: num(t.open),
    close: num(t.close),
    change: num(t.change),
    percentage: num(t.percentage),
    vwap: num(t.vwap),
    baseVolume: num(t.baseVolume),
    quoteVolume: num(t.quoteVolume),
  };
}

export const levels = (side: unknown, limit: number): number[][] =>
  (Array.isArray(side) ? side : []).slice(0, limit).map((l: unknown[]) => [num(l[0]) ?? 0, num(l[1]) ?? 0]);
