/**
 * `everything`: the fixtures of the MCP conformance suites, registered as a toolset so that
 * `conformance server --url …` can run against any server that loads it. One registration serves
 * both protocol eras: 2025-era sessions (pinned @modelcontextprotocol/conformance@0.1.13, the
 * reference "everything-server") and MCP 2026-07-28 requests (conformance 0.2.0-alpha.12: the SDK's
 * conformance server's fixture set).
 *
 * What it registers:
 * - tools.ts — one-round tools: `test_simple_text`, `test_image_content`, `test_audio_content`,
 *   `test_embedded_resource`, `test_multiple_content_types`, `test_tool_with_logging`,
 *   `test_tool_with_progress` (progress 0/50/100 of 100 on the request's progressToken),
 *   `test_error_handling`, `test_reconnection` (2025 SSE polling), `json_schema_2020_12_tool` and
 *   `test_x_mcp_header` (hand-written JSON Schemas, listed verbatim), and the SEP-2575 diagnostics
 *   `test_missing_capability`, `test_streaming_elicitation`, `test_logging_tool`,
 *   `test_trigger_tool_change`, `test_trigger_prompt_change` (publish on `ctx.events`);
 * - client-requests.ts — `test_sampling`, `test_elicitation`, `test_elicitation_sep1034_defaults`,
 *   `test_elicitation_sep1330_enums`: written as multi-round-trip handlers, which the SDK's legacy
 *   shim turns into real sampling/elicitation requests for a 2025 session;
 * - input-required.ts — the MRTR (SEP-2322) family `test_input_required_result_{elicitation,
 *   sampling, list_roots, request_state, multiple_inputs, multi_round, tampered_state,
 *   capabilities}` and the prompt `test_input_required_result_prompt`; served to 2025 sessions
 *   through the same shim;
 * - resources.ts — `test://static-text`, `test://static-binary`, `test://watched-resource`, the
 *   template `test://template/{id}/data`; `resources/subscribe` / `resources/unsubscribe` (2025);
 * - prompts.ts — `test_simple_prompt`, `test_prompt_with_arguments` (completable arguments: empty
 *   suggestions), `test_prompt_with_embedded_resource`, `test_prompt_with_image`;
 * - capabilities `tools`/`prompts` {listChanged}, `resources` {subscribe, listChanged}, `logging`,
 *   `completions`.
 *
 * State: a 2025 session's subscriptions live in `ctx.state` (only on session actors); everything a
 * multi-round fixture needs between rounds travels in request state signed by
 * `ctx.requestState.mint`. Nothing else is kept, so every fixture runs on the stateless pool too.
 */
import { defineToolset } from '../types.js';
import { declareLogging } from '../logging.js';
import { registerClientRequests } from './client-requests.js';
import { registerInputRequired } from './input-required.js';
import { registerPrompts } from './prompts.js';
import { registerResources } from './resources.js';
import { registerTools } from './tools.js';

export const toolset = defineToolset({
  name: 'everything',
  description:
    'MCP conformance suite fixtures for 2025-era sessions and 2026-07-28 (tools, resources, prompts, logging, progress, completion, subscriptions, multi-round-trip input)',
  register(server, ctx) {
    declareLogging(server);
    server.server.registerCapabilities({
      tools: { listChanged: true },
      prompts: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      completions: {},
    });
    registerTools(server, ctx);
    registerClientRequests(server, ctx);
    registerInputRequired(server, ctx);
    registerResources(server, ctx);
    registerPrompts(server);
  },
});

export default toolset;
