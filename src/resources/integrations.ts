/**
 * Main-side integrations of the built-in resource kinds, started when their toolset is
 * configured. An integration creates its ResourceKind(s) (host threads + pools), registers them
 * with the runtime, and may add runtime calls. It never imports the resource's heavy library
 * (ccxt lives only in exchange-host threads).
 */
import type { Runtime } from '../runtime.js';

export interface Integration {
  setup(rt: Runtime): Promise<void>;
}

const load = (path: string) => () => import(new URL(path, import.meta.url).href) as Promise<Integration>;

/** Toolset name → its integration module (loaded only when that toolset is configured). */
export const INTEGRATIONS: Readonly<Record<string, () => Promise<Integration>>> = {
  ccxt: load('./ccxt/integration.js'),
  cua: load('./cua/integration.js'),
};
