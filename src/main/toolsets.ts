/**
 * Turns the configured toolset names into module specifiers the actor threads import.
 * A built-in name becomes `builtin:<name>` (the actor threads know those modules); anything else
 * must be a path to a toolset module, passed on as a file URL.
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from './config.js';
import { BUILTINS } from './integrations.js';

function looksLikePath(s: string): boolean {
  return s.includes('/') || s.includes('\\') || /\.(m?js|cjs|ts)$/.test(s);
}

/** The configured names with the built-ins they require added after them (each once). */
export function withRequired(names: readonly string[]): string[] {
  const out = [...names];
  for (const name of names) for (const r of BUILTINS[name]?.requires ?? []) if (!out.includes(r)) out.push(r);
  return out;
}

export function resolveToolsets(names: readonly string[], cwd = process.cwd()): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const name of withRequired(names)) {
    let spec: string;
    if (Object.hasOwn(BUILTINS, name)) {
      spec = `builtin:${name}`;
    } else if (looksLikePath(name)) {
      const file = isAbsolute(name) ? name : resolve(cwd, name);
      if (!existsSync(file) || !statSync(file).isFile()) {
        throw new ConfigError(`toolset "${name}": no such file (${file})`);
      }
      spec = pathToFileURL(file).href;
    } else {
      throw new ConfigError(
        `unknown toolset "${name}": built-in toolsets are ${Object.keys(BUILTINS).join(', ')}; a toolset of your own is given by its file path (e.g. ./my-toolset.js)`,
      );
    }
    if (!seen.has(spec)) {
      seen.add(spec);
      out.push(spec);
    }
  }
  return out;
}
