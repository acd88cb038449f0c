// Decimal helpers for the fake exchange.
//
// Amounts are kept as JS numbers rounded to 8 decimals after every operation (Binance's own
// precision for spot balances), which keeps values below 2^53 / 1e8 exact enough for tests and
// avoids a decimal library. Every value that leaves the server is formatted with 8 decimals,
// exactly like Binance ("65000.01000000").

export const SCALE = 1e8;

/** Round to 8 decimals (Binance spot precision). */
export function r8(x: number): number {
  return Math.round(x * SCALE) / SCALE;
}

/** Format like Binance: fixed 8 decimals, as a string. */
export function fmt(x: number): string {
  return r8(x).toFixed(8);
}

/** Number of decimals in a step such as "0.00100000" (→ 3) or "1.00000000" (→ 0). */
export function stepDecimals(step: string): number {
  const trimmed = step.includes('.') ? step.replace(/0+$/, '') : step;
  const dot = trimmed.indexOf('.');
  return dot < 0 ? 0 : trimmed.length - dot - 1;
}

/** Round `value` down to a multiple of `step` (given as a Binance decimal string). */
export function floorToStep(value: number, step: string): number {
  const s = Number(step);
  if (!(s > 0)) return r8(value);
  const n = Math.floor(value / s + 1e-9);
  return Number((n * s).toFixed(stepDecimals(step)));
}

/** Round `value` to the nearest multiple of `step`. */
export function roundToStep(value: number, step: string): number {
  const s = Number(step);
  if (!(s > 0)) return r8(value);
  return Number((Math.round(value / s) * s).toFixed(stepDecimals(step)));
}

/** True when `value` is (within float noise) an integer multiple of `step`. */
export function isMultipleOf(value: number, step: string): boolean {
  const s = Number(step);
  if (!(s > 0)) return true;
  const q = value / s;
  return Math.abs(q - Math.round(q)) < 1e-6;
}

/**
 * Parse a Binance decimal parameter ("0.001", "1e-3" is NOT accepted by Binance either).
 * Returns undefined for anything that is not a plain non-negative decimal.
 */
export function parseDecimal(raw: string | undefined): number | undefined {
  if (raw === undefined || !/^\d+(\.\d+)?$|^\.\d+$/.test(raw)) return undefined;
  const n = Number(raw);
  return Number.isFinite(n) ? n : undefined;
}
