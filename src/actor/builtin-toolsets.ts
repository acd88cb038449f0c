/**
 * The built-in toolsets' modules, by name, as the actor threads load them. The main thread names a
 * built-in toolset `builtin:<name>` in the boot data (see src/main/integrations.ts); a toolset of
 * the user's own is a file URL. Static imports here (rather than URLs) let the worker bundle carry
 * the built-ins with the one copy of the SDK and zod the thread already has.
 */
import { dynamicImport } from '../shared/code-cache.js';

export const BUILTIN_PREFIX = 'builtin:';

export const BUILTIN_TOOLSETS: Readonly<Record<string, () => Promise<unknown>>> = {
  everything: () => import('./toolsets/everything/index.js'),
  diagnostics: () => import('./toolsets/diagnostics/index.js'),
  session: () => import('./toolsets/session/index.js'),
  ccxt: () => import('../integrations/ccxt/actor/index.js'),
  cua: () => import('../integrations/cua/actor/index.js'),
};

/** The module of a toolset specifier: `builtin:<name>` or a URL to import. */
export function importToolset(specifier: string): Promise<unknown> {
  if (specifier.startsWith(BUILTIN_PREFIX)) {
    const load = BUILTIN_TOOLSETS[specifier.slice(BUILTIN_PREFIX.length)];
    if (!load) return Promise.reject(new Error(`no built-in toolset ${specifier.slice(BUILTIN_PREFIX.length)}`));
    return load();
  }
  return dynamicImport(specifier);
}
