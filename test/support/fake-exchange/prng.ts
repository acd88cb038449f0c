// Deterministic pseudo-randomness: every synthetic number the fake exchange invents (prices,
// order-book sizes, candles, public trades) is a pure function of (seed, labels…), so two
// servers started with the same seed answer identically and a test can predict values.

/** 32-bit FNV-1a over the labels, finished with a murmur3 avalanche. */
export function hash32(seed: number, ...labels: Array<string | number>): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (const label of labels) {
    const s = String(label);
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    h ^= 0x1f; // label separator
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** Deterministic uniform number in [0, 1). */
export function unit(seed: number, ...labels: Array<string | number>): number {
  return hash32(seed, ...labels) / 0x1_0000_0000;
}
