/**
 * The built-in toolsets, registered once: for each its actor-side module (the toolset the actor
 * threads import) and, for an integration that brings resource actors (ccxt, cua), its main-side
 * setup — which creates its resource kinds (host threads + pools) and the runtime calls its
 * toolset makes. Setup runs only when the toolset is configured, and sees a narrow interface, not
 * the runtime. Main-side code never imports actor- or host-side modules: they are named here by
 * URL for the threads to load.
 *
 * An integration lives in one folder, src/integrations/<name>/, split by the thread that runs it:
 * shared/ (config schema, specs, codes), main/ (setup), actor/ (the toolset), host/ (the factory).
 */
import type { IntegrationSetup } from './integration-context.js';

export interface BuiltinToolset {
  /** The toolset module's URL (imported by actor threads). */
  toolset: string;
  /** The main-side setup of an integration with resources. */
  setup?: () => Promise<IntegrationSetup>;
  /**
   * Built-in toolsets it needs loaded beside it: the `session` toolset creates the `session_id`
   * handles ccxt's and cua's tools carry for MCP 2026-07-28 clients.
   */
  requires?: readonly string[];
}

const url = (path: string) => new URL(path, import.meta.url).href;

export const BUILTINS: Readonly<Record<string, BuiltinToolset>> = {
  everything: { toolset: url('../actor/toolsets/everything/index.js') },
  diagnostics: { toolset: url('../actor/toolsets/diagnostics/index.js') },
  session: { toolset: url('../actor/toolsets/session/index.js') },
  ccxt: {
    toolset: url('../integrations/ccxt/actor/index.js'),
    setup: () => import('../integrations/ccxt/main/setup.js'),
    requires: ['session'],
  },
  cua: {
    toolset: url('../integrations/cua/actor/index.js'),
    setup: () => import('../integrations/cua/main/setup.js'),
    requires: ['session'],
  },
};
