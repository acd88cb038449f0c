/**
 * Loads toolsets for the baseline processes by the same names (or paths) the runtime accepts,
 * so both servers serve exactly the same tool code.
 */
import { resolveToolsets } from '../../src/main/toolsets.js';
import { importToolset } from '../../src/actor/builtin-toolsets.js';
import type { Toolset } from '../../src/actor/toolsets/types.js';

export async function loadToolsets(names: string[]): Promise<Toolset[]> {
  const out: Toolset[] = [];
  for (const spec of resolveToolsets(names)) {
    const mod = (await importToolset(spec)) as { default?: unknown; toolset?: unknown };
    const t = (mod.default ?? mod.toolset) as Toolset | undefined;
    if (!t || typeof t.register !== 'function' || typeof t.name !== 'string') {
      throw new Error(`${spec} does not export a toolset (default or named "toolset")`);
    }
    out.push(t);
  }
  return out;
}

/** `--name value` pairs from argv (no positionals, no booleans). */
export function flags(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    const v = argv[i + 1];
    if (k === undefined || !k.startsWith('--') || v === undefined) throw new Error(`bad arguments: ${argv.join(' ')}`);
    out[k.slice(2)] = v;
  }
  return out;
}
