/**
 * Logging inside an actor thread: lines are level-filtered here and forwarded to the main
 * thread's logger (one ordered stream on stderr, session fingerprints added there). Actors never
 * load a logging library of their own — it would cost every thread boot time and memory.
 */
import type { FromActor } from '../shared/actor-messages.js';

export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
const RANK: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

export interface ActorLogger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): ActorLogger;
}

/** Makes a plain, cloneable record of what a caller passed (errors flattened, functions dropped). */
function plain(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v instanceof Error) out[k] = { message: v.message, name: v.name };
    else if (typeof v !== 'function' && typeof v !== 'symbol') out[k] = v;
  }
  try {
    return structuredClone(out);
  } catch {
    return JSON.parse(JSON.stringify(out)) as Record<string, unknown>;
  }
}

export function actorLogger(post: (m: FromActor) => void, level: string, bindings: Record<string, unknown> = {}): ActorLogger {
  const min = RANK[level] ?? 30;
  const emit = (lvl: Level, obj: object | string, msg?: string) => {
    if (RANK[lvl]! < min) return;
    const [data, text] = typeof obj === 'string' ? [{}, obj] : [plain(obj), msg ?? ''];
    post({ t: 'log', level: lvl, msg: text, data: { ...bindings, ...data } });
  };
  return {
    debug: (o, m) => emit('debug', o, m),
    info: (o, m) => emit('info', o, m),
    warn: (o, m) => emit('warn', o, m),
    error: (o, m) => emit('error', o, m),
    child: (b) => actorLogger(post, level, { ...bindings, ...b }),
  };
}
