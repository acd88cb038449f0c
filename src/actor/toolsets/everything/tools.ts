/**
 * The conformance fixtures' tools that answer in one round: content kinds, errors, logging,
 * progress, SSE reconnection, verbatim JSON Schemas, and the SEP-2575 diagnostics of the
 * 2026-07-28 `server-stateless` scenario. The fixtures that ask the client for input live in
 * client-requests.ts (the 2025-era sampling/elicitation ones) and input-required.ts (MRTR).
 */
import { fromJsonSchema, inputRequired, inputResponse, type CallToolResult, type InputRequiredResult, type McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { ToolsetContext } from '../types.js';
import { JSON_SCHEMA_2020_12_INPUT, LOGGER, PNG_1X1_BASE64, WAV_SILENCE_BASE64, X_MCP_HEADER_INPUT } from './fixtures.js';

const noArgs = z.object({});

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });

export function registerTools(server: McpServer, ctx: ToolsetContext): void {
  server.registerTool(
    'test_simple_text',
    { description: 'Tests simple text content response', inputSchema: noArgs },
    async () => text('This is a simple text response for testing.'),
  );

  server.registerTool(
    'test_image_content',
    { description: 'Tests image content response', inputSchema: noArgs },
    async (): Promise<CallToolResult> => ({ content: [{ type: 'image', data: PNG_1X1_BASE64, mimeType: 'image/png' }] }),
  );

  server.registerTool(
    'test_audio_content',
    { description: 'Tests audio content response', inputSchema: noArgs },
    async (): Promise<CallToolResult> => ({ content: [{ type: 'audio', data: WAV_SILENCE_BASE64, mimeType: 'audio/wav' }] }),
  );

  server.registerTool(
    'test_embedded_resource',
    { description: 'Tests embedded resource content response', inputSchema: noArgs },
    async (): Promise<CallToolResult> => ({
      content: [
        {
          type: 'resource',
          resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' },
        },
      ],
    }),
  );

  server.registerTool(
    'test_multiple_content_types',
    { description: 'Tests response with multiple content types (text, image, resource)', inputSchema: noArgs },
    async (): Promise<CallToolResult> => ({
      content: [
        { type: 'text', text: 'Multiple content types test:' },
        { type: 'image', data: PNG_1X1_BASE64, mimeType: 'image/png' },
        {
          type: 'resource',
          resource: {
            uri: 'test://mixed-content-resource',
            mimeType: 'application/json',
            text: JSON.stringify({ test: 'data', value: 123 }),
          },
        },
      ],
    }),
  );

  // Logging goes through hctx.mcpReq.log, which the SDK gates: a 2025 session by its
  // logging/setLevel, a 2026-07-28 request by the logLevel in its _meta (none: nothing is sent).
  server.registerTool(
    'test_tool_with_logging',
    { description: 'Tests tool that emits log messages during execution', inputSchema: noArgs },
    async (_args, hctx) => {
      await hctx.mcpReq.log('info', 'Tool execution started', LOGGER);
      await delay(50);
      await hctx.mcpReq.log('info', 'Tool processing data', LOGGER);
      await delay(50);
      await hctx.mcpReq.log('info', 'Tool execution completed', LOGGER);
      return text('Tool with logging executed successfully');
    },
  );

  server.registerTool(
    'test_tool_with_progress',
    { description: 'Tests tool that reports progress notifications', inputSchema: noArgs },
    async (_args, hctx) => {
      const progressToken = hctx.mcpReq._meta?.progressToken;
      for (const [i, progress] of [0, 50, 100].entries()) {
        if (i > 0) await delay(50);
        // Progress is only meaningful (and only routable by the client) for a token it sent.
        if (progressToken !== undefined) {
          await hctx.mcpReq.notify({
            method: 'notifications/progress',
            params: { progressToken, progress, total: 100, message: `Completed step ${progress} of 100` },
          });
        }
      }
      return text(String(progressToken ?? 0));
    },
  );

  server.registerTool(
    'test_error_handling',
    { description: 'Tests error response handling', inputSchema: noArgs },
    async (): Promise<CallToolResult> => {
      throw new Error('This tool intentionally returns an error for testing');
    },
  );

  server.registerTool(
    'test_reconnection',
    {
      description:
        'Tests SSE stream disconnection and client reconnection (SEP-1699). Server will close the stream mid-call and send the result after client reconnects.',
      inputSchema: noArgs,
    },
    async (_args, hctx) => {
      // Close this request's SSE stream (a 2025 session's transport offers this only when it is
      // resumable: an event store and a client on protocol >= 2025-11-25); the client reconnects
      // with Last-Event-ID after the priming event's `retry` and receives the result by replay.
      // 2026-07-28 has no resumability: there closeSSE is absent and the call just answers.
      hctx.http?.closeSSE?.();
      await delay(100);
      return text(
        'Reconnection test completed successfully. If you received this, the client properly reconnected after stream closure.',
      );
    },
  );

  // Hand-written JSON Schemas, advertised verbatim and enforced on tools/call (fromJsonSchema,
  // compiled on first use: an Ajv compile at registration cost every actor thread's boot ~20 ms).
  server.registerTool(
    'json_schema_2020_12_tool',
    {
      description: 'Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613, SEP-2106)',
      inputSchema: lazyJsonSchema<Record<string, unknown>>(JSON_SCHEMA_2020_12_INPUT),
    },
    async (args) => text(`JSON Schema 2020-12 tool called with: ${JSON.stringify(args)}`),
  );

  server.registerTool(
    'test_x_mcp_header',
    {
      description: 'Tests SEP-2243 x-mcp-header: region is mirrored into the Mcp-Param-Region header, which the server checks',
      inputSchema: lazyJsonSchema<{ region: string; level?: number }>(X_MCP_HEADER_INPUT),
    },
    async ({ region }) => text(`region=${region}`),
  );

  // SEP-2575 `server-stateless` diagnostics (2026-07-28; they work in 2025 sessions too).

  // Needs sampling. The SDK checks every returned input request against the request's declared
  // client capabilities and answers -32021 (HTTP 400) itself when `sampling` is missing.
  server.registerTool(
    'test_missing_capability',
    {
      description: 'Requires the sampling client capability: asks for one sampling round (undeclared sampling is refused with -32021)',
      inputSchema: noArgs,
    },
    async (_args, hctx): Promise<CallToolResult | InputRequiredResult> => {
      const answer = inputResponse(hctx.mcpReq.inputResponses, 'llm_answer');
      if (answer.kind !== 'sampling') {
        return inputRequired({
          inputRequests: {
            llm_answer: inputRequired.createMessage({
              messages: [{ role: 'user', content: { type: 'text', text: 'Reply with one word: pong' } }],
              maxTokens: 16,
            }),
          },
        });
      }
      return text('Sampling round trip completed');
    },
  );

  // Must not ask for anything: the scenario checks that the response stream carries no request.
  server.registerTool(
    'test_streaming_elicitation',
    { description: 'Answers with plain text and never sends a request on the response stream', inputSchema: noArgs },
    async () => text('Response stream carried only this result'),
  );

  server.registerTool(
    'test_logging_tool',
    {
      description: 'Logs one info message (sent only at or above the logging level the request asked for), then answers',
      inputSchema: noArgs,
    },
    async (_args, hctx) => {
      await hctx.mcpReq.log('info', 'test_logging_tool ran', LOGGER);
      return text('Logged one info message');
    },
  );

  server.registerTool(
    'test_trigger_tool_change',
    { description: 'Publishes a tools list_changed event to every subscriptions/listen stream and 2025 session', inputSchema: noArgs },
    async () => {
      ctx.events.publish({ kind: 'tools_list_changed' });
      return text('Published tools list_changed');
    },
  );

  server.registerTool(
    'test_trigger_prompt_change',
    { description: 'Publishes a prompts list_changed event to every subscriptions/listen stream and 2025 session', inputSchema: noArgs },
    async () => {
      ctx.events.publish({ kind: 'prompts_list_changed' });
      return text('Published prompts list_changed');
    },
  );
}

/**
 * fromJsonSchema(schema), built when first validated: the JSON Schema it advertises is the one
 * given, so listing tools does not compile it.
 */
function lazyJsonSchema<T>(schema: Parameters<typeof fromJsonSchema>[0]): ReturnType<typeof fromJsonSchema<T>> {
  let built: ReturnType<typeof fromJsonSchema<T>> | undefined;
  const real = () => (built ??= fromJsonSchema<T>(schema));
  return {
    '~standard': {
      version: 1,
      vendor: 'mcp',
      jsonSchema: { input: () => schema, output: () => schema },
      validate: (data: unknown) => real()['~standard'].validate(data),
    },
  } as ReturnType<typeof fromJsonSchema<T>>;
}
