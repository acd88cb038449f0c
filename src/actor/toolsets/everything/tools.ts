/**
 * The conformance fixtures' tools (`test_*` and `json_schema_2020_12_tool`).
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  CreateMessageResultSchema,
  ElicitResultSchema,
  type ElicitRequestFormParams,
  type ElicitResult,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import {
  ADDRESS_DEF,
  JSON_SCHEMA_2020_12,
  PNG_1X1_BASE64,
  SEP1034_REQUESTED_SCHEMA,
  SEP1330_REQUESTED_SCHEMA,
  WAV_SILENCE_BASE64,
} from './fixtures.js';
import type { SessionLog } from '../logging.js';

type RequestedSchema = ElicitRequestFormParams['requestedSchema'];

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

const describeElicitation = (result: ElicitResult) =>
  `action=${result.action}, content=${JSON.stringify(result.content ?? {})}`;

/**
 * Input schema of `json_schema_2020_12_tool`. `tools/list` must advertise it with `$schema` (2020-12),
 * `$defs.address` and `additionalProperties: false` preserved (SEP-1613). The SDK renders zod
 * schemas itself (draft-07 flavoured), so the 2020-12 keywords are carried as zod metadata, which
 * the renderer copies verbatim: `$schema`/`$defs` on the root, `$ref` on the `address` property.
 * `address` is `any → pipe(object)` so that its advertised (input) side renders as nothing but that
 * `{ $ref }` — the metadata must sit on the outermost (optional) wrapper, or the draft-07 renderer
 * wraps the ref in `allOf` — while `tools/call` still validates it as the `$defs.address` object.
 * `strictObject` renders (and enforces) `additionalProperties: false`. test/bench/baseline.test.ts
 * pins the rendered schema (deep equality).
 */
const jsonSchema2020Input = z
  .strictObject({
    name: z.string().optional(),
    address: z
      .any()
      .pipe(z.object({ street: z.string().optional(), city: z.string().optional() }))
      .optional()
      .meta({ $ref: '#/$defs/address' }),
  })
  .meta({ $schema: JSON_SCHEMA_2020_12, $defs: { address: ADDRESS_DEF } });

export function registerTools(server: McpServer, log: SessionLog): void {
  server.registerTool(
    'test_simple_text',
    { description: 'Tests simple text content response', inputSchema: {} },
    async () => ({ content: [{ type: 'text', text: 'This is a simple text response for testing.' }] }),
  );

  server.registerTool('test_image_content', { description: 'Tests image content response' }, async () => ({
    content: [{ type: 'image', data: PNG_1X1_BASE64, mimeType: 'image/png' }],
  }));

  server.registerTool('test_audio_content', { description: 'Tests audio content response' }, async () => ({
    content: [{ type: 'audio', data: WAV_SILENCE_BASE64, mimeType: 'audio/wav' }],
  }));

  server.registerTool(
    'test_embedded_resource',
    { description: 'Tests embedded resource content response' },
    async () => ({
      content: [
        {
          type: 'resource',
          resource: {
            uri: 'test://embedded-resource',
            mimeType: 'text/plain',
            text: 'This is an embedded resource content.',
          },
        },
      ],
    }),
  );

  server.registerTool(
    'test_multiple_content_types',
    { description: 'Tests response with multiple content types (text, image, resource)' },
    async () => ({
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

  server.registerTool(
    'test_tool_with_logging',
    { description: 'Tests tool that emits log messages during execution', inputSchema: {} },
    async (_args, extra) => {
      await log.send(extra, 'info', 'Tool execution started');
      await delay(50);
      await log.send(extra, 'info', 'Tool processing data');
      await delay(50);
      await log.send(extra, 'info', 'Tool execution completed');
      return { content: [{ type: 'text', text: 'Tool with logging executed successfully' }] };
    },
  );

  server.registerTool(
    'test_tool_with_progress',
    { description: 'Tests tool that reports progress notifications', inputSchema: {} },
    async (_args, extra) => {
      const progressToken = extra._meta?.progressToken;
      const steps = [0, 50, 100];
      for (const [i, progress] of steps.entries()) {
        if (i > 0) await delay(50);
        // Progress is only meaningful (and only routable by the client) for a token it sent.
        if (progressToken !== undefined) {
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken, progress, total: 100, message: `Completed step ${progress} of 100` },
          });
        }
      }
      return { content: [{ type: 'text', text: String(progressToken ?? 0) }] };
    },
  );

  server.registerTool('test_error_handling', { description: 'Tests error response handling' }, async () => {
    throw new Error('This tool intentionally returns an error for testing');
  });

  server.registerTool(
    'test_reconnection',
    {
      description:
        'Tests SSE stream disconnection and client reconnection (SEP-1699). Server will close the stream mid-call and send the result after client reconnects.',
      inputSchema: {},
    },
    async (_args, extra) => {
      // Close this request's SSE stream (the transport offers this only when it is resumable: an
      // event store and a client on protocol >= 2025-11-25); the client reconnects with
      // Last-Event-ID after the priming event's `retry` and receives the result by replay.
      extra.closeSSEStream?.();
      await delay(100);
      return {
        content: [
          {
            type: 'text',
            text: 'Reconnection test completed successfully. If you received this, the client properly reconnected after stream closure.',
          },
        ],
      };
    },
  );

  server.registerTool(
    'test_sampling',
    {
      description: 'Tests server-initiated sampling (LLM completion request)',
      inputSchema: { prompt: z.string().describe('The prompt to send to the LLM') },
    },
    async ({ prompt }, extra) => {
      try {
        // extra.sendRequest relates the request to this tool call, so it travels on the call's
        // own SSE stream rather than depending on the client's standalone GET stream.
        const result = await extra.sendRequest(
          {
            method: 'sampling/createMessage',
            params: { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 100 },
          },
          CreateMessageResultSchema,
        );
        const text = result.content.type === 'text' ? result.content.text : 'No response';
        return { content: [{ type: 'text', text: `LLM response: ${text}` }] };
      } catch (error) {
        return { content: [{ type: 'text', text: `Sampling not supported or error: ${errorMessage(error)}` }] };
      }
    },
  );

  server.registerTool(
    'test_elicitation',
    {
      description: 'Tests server-initiated elicitation (user input request)',
      inputSchema: { message: z.string().describe('The message to show the user') },
    },
    async ({ message }, extra) => {
      try {
        const result = await extra.sendRequest(
          {
            method: 'elicitation/create',
            params: {
              message,
              requestedSchema: {
                type: 'object',
                properties: { response: { type: 'string', description: "User's response" } },
                required: ['response'],
              },
            },
          },
          ElicitResultSchema,
        );
        return { content: [{ type: 'text', text: `User response: ${describeElicitation(result)}` }] };
      } catch (error) {
        return { content: [{ type: 'text', text: `Elicitation not supported or error: ${errorMessage(error)}` }] };
      }
    },
  );

  const elicitForm = (name: string, description: string, message: string, requestedSchema: RequestedSchema) =>
    server.registerTool(name, { description, inputSchema: {} }, async (_args, extra) => {
      try {
        const result = await extra.sendRequest(
          {
            method: 'elicitation/create',
            params: { message, requestedSchema },
          },
          ElicitResultSchema,
        );
        return { content: [{ type: 'text', text: `Elicitation completed: ${describeElicitation(result)}` }] };
      } catch (error) {
        return { content: [{ type: 'text', text: `Elicitation not supported or error: ${errorMessage(error)}` }] };
      }
    });

  elicitForm(
    'test_elicitation_sep1034_defaults',
    'Tests elicitation with default values per SEP-1034',
    'Please review and update the form fields with defaults',
    SEP1034_REQUESTED_SCHEMA,
  );

  elicitForm(
    'test_elicitation_sep1330_enums',
    'Tests elicitation with enum schema improvements per SEP-1330',
    'Please select options from the enum fields',
    SEP1330_REQUESTED_SCHEMA,
  );

  server.registerTool(
    'json_schema_2020_12_tool',
    {
      description: 'Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)',
      inputSchema: jsonSchema2020Input,
    },
    async (args) => ({
      content: [{ type: 'text', text: `JSON Schema 2020-12 tool called with: ${JSON.stringify(args)}` }],
    }),
  );
}
