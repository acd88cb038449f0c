/**
 * Which file a session actor thread starts from, and where its V8 code cache lives.
 *
 * `npm run build` bundles the session worker into one file (scripts/bundle-workers.mjs); threads
 * start from its loader, which compiles the bundle with a code cache. Without the bundle (a build
 * that skipped it) or with `warmPool.bundle: false` they start from the module graph
 * (workers/session.js) — slower to boot, same behaviour.
 *
 * The cache is per user (by default `$XDG_CACHE_HOME/mcp-actors` or `~/.cache/mcp-actors`), in a
 * directory only that user may write: code in it runs in every actor thread. A directory that
 * is not ours, is a symlink, or is writable by others is not used (a warning says why).
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../observability/log.js';

/** The module-graph entry (always built by tsc). */
export const SESSION_WORKER = new URL('../../../workers/session.js', import.meta.url);
/** The bundle's loader and the bundle (built by scripts/bundle-workers.mjs). */
export const SESSION_WORKER_BUNDLED = new URL('../../../workers/session-loader.cjs', import.meta.url);
const SESSION_BUNDLE = new URL('../../../workers/session.bundle.cjs', import.meta.url);

export interface SessionEntry {
  entry: URL;
  /** undefined: no code cache. */
  codeCacheFile: string | undefined;
  /** For the start log line. */
  describe: string;
}

export interface SessionEntryOptions {
  bundle: boolean;
  /** A directory, false (no cache), or undefined (the per-user default). */
  codeCacheDir: string | false | undefined;
}

function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'mcp-actors');
}

/** The directory, made if missing, when it is safe to run code from; otherwise why not. */
function safeDir(dir: string): { ok: true } | { ok: false; why: string } {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory()) return { ok: false, why: 'not a directory (or a symlink)' };
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) return { ok: false, why: 'owned by another user' };
    if ((st.mode & 0o022) !== 0) return { ok: false, why: 'writable by group or others' };
    return { ok: true };
  } catch (err) {
    return { ok: false, why: (err as Error).message };
  }
}

export function sessionEntry(options: SessionEntryOptions, log: Logger): SessionEntry {
  const bundle = fileURLToPath(SESSION_BUNDLE);
  if (!options.bundle || !existsSync(fileURLToPath(SESSION_WORKER_BUNDLED)) || !existsSync(bundle)) {
    if (options.bundle) log.warn('the session worker bundle is missing (run `npm run build`): actor threads boot from the module graph, slower');
    return { entry: SESSION_WORKER, codeCacheFile: undefined, describe: 'module graph' };
  }
  if (options.codeCacheDir === false) return { entry: SESSION_WORKER_BUNDLED, codeCacheFile: undefined, describe: 'bundle, no code cache' };
  const dir = options.codeCacheDir ?? defaultCacheDir();
  const safe = safeDir(dir);
  if (!safe.ok) {
    log.warn({ dir, why: safe.why }, 'not using this code cache directory: actor threads boot without a code cache');
    return { entry: SESSION_WORKER_BUNDLED, codeCacheFile: undefined, describe: 'bundle, no code cache' };
  }
  const hash = createHash('sha256').update(readFileSync(bundle)).update(process.version).update(process.arch).digest('hex').slice(0, 20);
  const file = `session-${hash}.v8cache`;
  prune(dir, file, log);
  return { entry: SESSION_WORKER_BUNDLED, codeCacheFile: join(dir, file), describe: `bundle, code cache in ${dir}` };
}

/** Caches kept besides ours (other builds or Node versions sharing the directory); older ones go. */
const KEEP_OTHERS = 3;

/** A temporary file this old was left by a thread that died while writing (a write takes milliseconds). */
const STALE_TMP_MS = 60_000;

/**
 * Every build makes a new cache file: keep the directory bounded (ours and the newest few others),
 * and remove the temporary files of writes that never finished (a process killed mid-write).
 */
function prune(dir: string, ours: string, log: Logger): void {
  try {
    const files = readdirSync(dir);
    const now = Date.now();
    for (const f of files.filter((f) => /^session-[0-9a-f]+\.v8cache\..+\.tmp$/.test(f))) {
      if (now - statSync(join(dir, f)).mtimeMs > STALE_TMP_MS) unlinkSync(join(dir, f));
    }
    const others = files
      .filter((f) => /^session-[0-9a-f]+\.v8cache$/.test(f) && f !== ours)
      .map((f) => ({ f, mtime: statSync(join(dir, f)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
    for (const { f } of others.slice(KEEP_OTHERS)) unlinkSync(join(dir, f));
  } catch (err) {
    log.warn({ dir, err: (err as Error).message }, 'could not prune old code caches');
  }
}
