/**
 * The built-in toolsets, registered once: for each its actor-side module (the toolset the actor
 * threads import) and, for an integration that brings resource actors (ccxt, cua), its main-side
 * setup — which creates its resource kinds (host threads + pools) and the runtime calls its
 * toolset makes. Setup runs only when the toolset is configured, and sees a narrow interface, not
 * the runtime. Main-side code never imports actor- or host-side modules: the actor threads load a
 * built-in toolset by the specifier `builtin:<name>` (src/actor/builtin-toolsets.ts has the
 * modules; a test keeps the two lists equal).
 *
 * An integration lives in one folder, src/integrations/<name>/, split by the thread that runs it:
 * shared/ (config schema, specs, codes), main/ (setup), actor/ (the toolset), host/ (the factory).
 */
import type { IntegrationSetup } from './integration-context.js';

export interface BuiltinToolset {
  /** The main-side setup of an integration with resources. */
  setup?: () => Promise<IntegrationSetup>;
  /**
   * Built-in toolsets it needs loaded beside it: the `session` toolset creates the `session_id`
   * handles ccxt's and cua's tools carry for MCP 2026-07-28 clients.
   */
  requires?: readonly string[];
}

export const BUILTINS: Readonly<Record<string, BuiltinToolset>> = {
  everything: {},
  diagnostics: {},
  session: {},
  ccxt: {
    setup: () => import('../integrations/ccxt/main/setup.js'),
    requires: ['session'],
  },
  cua: {
    setup: () => import('../integrations/cua/main/setup.js'),
    requires: ['session'],
  },
};
