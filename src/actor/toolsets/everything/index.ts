/**
 * `everything`: the fixtures of the MCP conformance suite's reference server
 * (`examples/servers/typescript/everything-server.ts` in modelcontextprotocol/conformance, as of the
 * pinned @modelcontextprotocol/conformance@0.1.13), registered as a toolset so that
 * `conformance server --url …` can run against any server that loads it.
 *
 * What it registers:
 * - tools `test_simple_text`, `test_image_content`, `test_audio_content`, `test_embedded_resource`,
 *   `test_multiple_content_types`, `test_tool_with_logging`, `test_tool_with_progress`,
 *   `test_error_handling`, `test_reconnection`, `test_sampling`, `test_elicitation`,
 *   `test_elicitation_sep1034_defaults`, `test_elicitation_sep1330_enums`, `json_schema_2020_12_tool`;
 * - resources `test://static-text`, `test://static-binary`, `test://watched-resource`, template
 *   `test://template/{id}/data`; `resources/subscribe` / `resources/unsubscribe`;
 * - prompts `test_simple_prompt`, `test_prompt_with_arguments`, `test_prompt_with_embedded_resource`,
 *   `test_prompt_with_image`; `completion/complete` (empty suggestions);
 * - capabilities `logging` (with a `logging/setLevel` handler), `completions`, `resources.subscribe`.
 *
 * Per-session state (log level, subscriptions) lives in `ctx.state`.
 */
import { defineToolset } from '../types.js';
import { sessionLogging } from '../logging.js';
import { registerPrompts } from './prompts.js';
import { registerResources } from './resources.js';
import { registerTools } from './tools.js';

export const toolset = defineToolset({
  name: 'everything',
  description: 'MCP conformance suite fixtures (tools, resources, prompts, logging, completion, subscriptions)',
  register(server, ctx) {
    const log = sessionLogging(server, ctx, 'everything');
    registerTools(server, log);
    registerResources(server, ctx, log);
    registerPrompts(server);
  },
});

export default toolset;
