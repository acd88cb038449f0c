/**
 * Runs a CommonJS bundle (one file: a worker's whole module graph, see scripts/bundle-workers.mjs)
 * compiled with a V8 code cache, so a new thread skips resolving, reading and compiling hundreds
 * of modules and most of parsing (measured on this machine: a session thread's boot 421 → 238 ms
 * bundled, → 191 ms with the cache; see the README's cold-start figures).
 *
 * The cache file is written by a thread that found none (or found it stale: V8 rejects a cache
 * made from other source or by another V8 or other flags) a few seconds after it booted, so it
 * also holds the functions compiled while serving its first requests. Writes go to a temporary
 * file renamed into place (threads racing to write leave one whole file), in a directory only
 * this user may write (see codeCacheFile on the main side).
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

/**
 * Where the loader leaves an import() for the bundle: code compiled by vm.Script has no module
 * loader of its own on Node 20 (importModuleDynamically's main-context default is not honoured
 * there), so a user's toolset module is imported by this function, compiled in the loader.
 */
export const DYNAMIC_IMPORT = Symbol.for('mcp-actors.dynamic-import');

/** import(specifier) as the thread's host module does it (the loader's), or this module's own. */
export function dynamicImport(specifier: string): Promise<unknown> {
  const host = (globalThis as Record<symbol, unknown>)[DYNAMIC_IMPORT] as ((s: string) => Promise<unknown>) | undefined;
  return host ? host(specifier) : import(specifier);
}

/** Where the loader leaves the outcome for the thread's `ready` message (one global, set before the bundle runs). */
export const CODE_CACHE_OUTCOME = Symbol.for('mcp-actors.code-cache');

/** How a thread booted: from the module graph, or the bundle with its code cache used, missing, stale (rejected) or off. */
export type BootKind = 'graph' | 'used' | 'missing' | 'rejected' | 'off';

/** How this thread booted (read by the actor runtime for its `ready` message). */
export function bootKind(): BootKind {
  return ((globalThis as Record<symbol, unknown>)[CODE_CACHE_OUTCOME] as BootKind | undefined) ?? 'graph';
}

export interface CodeCacheOutcome {
  /** What happened to the cache: used, missing (none yet), rejected (stale), or off. */
  cache: 'used' | 'missing' | 'rejected' | 'off';
  /** Writes a fresh cache (if one is wanted); call once the thread has done some work. */
  persist(): void;
}

/** How a CommonJS bundle is wrapped to be compiled as a module function (Node's own wrapper). */
export const MODULE_WRAPPER_HEAD = '(function (exports, require, module, __filename, __dirname) {';
export const MODULE_WRAPPER_TAIL = '\n})';

export function runCachedBundle(file: string, cacheFile: string | undefined): CodeCacheOutcome {
  // The bundle is ASCII (scripts/bundle-workers.mjs makes sure): decoded as latin1 it is the same
  // string, without UTF-8 decoding (measured per boot: ~7.5 ms → ~2.8 ms for the 0.9 MB bundle).
  const source = readFileSync(file, 'latin1');
  let cachedData: Buffer | undefined;
  if (cacheFile) {
    try {
      cachedData = readFileSync(cacheFile);
    } catch {
      cachedData = undefined; // none yet: this thread writes one
    }
  }
  // scripts/bundle-workers.mjs writes the bundle already wrapped, so it is compiled as read: a
  // wrapped copy would be a second string of the bundle's size, garbage until a full GC.
  if (!source.startsWith(MODULE_WRAPPER_HEAD)) throw new Error(`${file} is not a wrapped worker bundle: run \`npm run build\``);
  const script = new Script(source, {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
  });
  const cache: CodeCacheOutcome['cache'] = !cacheFile ? 'off' : !cachedData ? 'missing' : script.cachedDataRejected ? 'rejected' : 'used';
  (globalThis as Record<symbol, unknown>)[CODE_CACHE_OUTCOME] = cache;
  (globalThis as Record<symbol, unknown>)[DYNAMIC_IMPORT] = (specifier: string) => import(specifier);
  const module = { exports: {} as unknown };
  const fn = script.runInThisContext() as (e: unknown, r: NodeJS.Require, m: unknown, f: string, d: string) => void;
  fn(module.exports, createRequire(file), module, file, dirname(file));
  return {
    cache,
    persist() {
      if (!cacheFile || cache === 'used' || cache === 'off') return;
      const tmp = `${cacheFile}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
      renameSync(tmp, cacheFile);
    },
  };
}
