/**
 * Handing each configured computer-server URL to at most one computer at a time, across the
 * computers' host threads (one thread per computer, so no thread sees the others).
 *
 * The table is a SharedArrayBuffer made on the main thread and passed to every host thread in its
 * factory config (workerData shares, not copies, a SharedArrayBuffer). Per URL: the thread id of
 * its holder (0 = free) and the holder's last heartbeat (epoch ms). A holder beats every second;
 * a claim takes a free slot, or one whose holder stopped beating for `staleMs` — a host thread
 * that crashed or was terminated never gets to release its slot, so its heartbeat is what frees it.
 *
 * Waiting is on events, not a poll: a release bumps a counter in the table and wakes its waiters
 * (Atomics.notify); a waiter also wakes when a held slot could next turn stale.
 */
import { threadId } from 'node:worker_threads';

export interface UrlSlotTable {
  urls: string[];
  /** BigInt64 pairs: [holder thread id, last beat (epoch ms)] per URL, then an Int32 release counter. */
  table: SharedArrayBuffer;
}

export interface UrlSlot {
  readonly index: number;
  readonly url: string;
  release(): void;
}

const BEAT_MS = 1_000;

const slotBytes = (t: UrlSlotTable) => Math.max(1, t.urls.length) * 2 * 8;

export function newUrlSlotTable(urls: string[]): UrlSlotTable {
  return { urls: [...urls], table: new SharedArrayBuffer(Math.max(1, urls.length) * 2 * 8 + 8) };
}

/** The release counter (waiters sleep on it). */
function releases(t: UrlSlotTable): Int32Array {
  return new Int32Array(t.table, slotBytes(t), 1);
}

/** Takes a free (or abandoned) URL slot; undefined when every one is held by a live holder. */
export function tryClaimUrl(t: UrlSlotTable, staleMs: number, holder = threadId): UrlSlot | undefined {
  const a = new BigInt64Array(t.table, 0, t.urls.length * 2);
  const me = BigInt(holder === 0 ? -1 : holder); // the main thread is 0, which means "free"
  const now = () => BigInt(Date.now());
  for (let i = 0; i < t.urls.length; i++) {
    const owner = Atomics.load(a, 2 * i);
    const beat = Atomics.load(a, 2 * i + 1);
    const abandoned = owner !== 0n && Number(now() - beat) > staleMs;
    if (owner !== 0n && !abandoned) continue;
    // The beat first: a racing claimer must never see the new owner with the old (stale) beat.
    // If the exchange then fails, someone else took the slot and we only freshened their beat.
    Atomics.store(a, 2 * i + 1, now());
    if (Atomics.compareExchange(a, 2 * i, owner, me) !== owner) continue;
    const timer = setInterval(() => {
      if (Atomics.load(a, 2 * i) === me) Atomics.store(a, 2 * i + 1, now());
    }, BEAT_MS);
    timer.unref();
    let released = false;
    return {
      index: i,
      url: t.urls[i]!,
      release() {
        if (released) return;
        released = true;
        clearInterval(timer);
        if (Atomics.compareExchange(a, 2 * i, me, 0n) === me) {
          const r = releases(t);
          Atomics.add(r, 0, 1);
          Atomics.notify(r, 0);
        }
      },
    };
  }
  return undefined;
}

/** Milliseconds until the first held slot could turn stale (its holder's beat + staleMs). */
function untilStale(t: UrlSlotTable, staleMs: number): number {
  const a = new BigInt64Array(t.table, 0, t.urls.length * 2);
  let soonest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < t.urls.length; i++) {
    if (Atomics.load(a, 2 * i) === 0n) return 0;
    soonest = Math.min(soonest, Number(Atomics.load(a, 2 * i + 1)) + staleMs - Date.now());
  }
  return Math.max(0, soonest) + 1;
}

type WaitAsync = (a: Int32Array, index: number, value: number, timeoutMs: number) => { async: boolean; value: Promise<string> | string };

/** Claims a URL slot, waiting up to `waitMs` for one to be released or abandoned. */
export async function claimUrl(t: UrlSlotTable, opts: { staleMs: number; waitMs: number }): Promise<UrlSlot | undefined> {
  const until = Date.now() + opts.waitMs;
  const r = releases(t);
  for (;;) {
    const seen = Atomics.load(r, 0);
    const slot = tryClaimUrl(t, opts.staleMs);
    const left = until - Date.now();
    if (slot || left <= 0) return slot;
    // Sleep until a release (the counter moves past `seen`), a slot could turn stale, or the deadline.
    const w = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync(r, 0, seen, Math.min(left, untilStale(t, opts.staleMs)));
    if (w.async) await w.value;
  }
}
