/**
 * The 2025-era fixtures that ask the client for something: `test_sampling`, `test_elicitation`,
 * `test_elicitation_sep1034_defaults`, `test_elicitation_sep1330_enums`.
 *
 * They are written once, as multi-round-trip handlers: the first round returns `inputRequired(...)`
 * with one embedded request, which the SDK's legacy shim sends to a 2025 session as a real
 * `sampling/createMessage` or `elicitation/create` request (on the call's own stream) before
 * re-entering the handler with the answer; a 2026-07-28 client answers by retrying with
 * `inputResponses`. The request shapes and result texts are those of the reference server that
 * conformance 0.1.13 checks.
 *
 * A 2025 session whose client did not declare the capability gets the reference server's "not
 * supported" text instead of a request; a 2026 request without it is refused by the SDK (-32021).
 */
import {
  inputRequired,
  inputResponse,
  type CallToolResult,
  type ElicitRequestFormParams,
  type InputRequiredResult,
  type McpServer,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { HandlerContext, ToolsetContext } from '../types.js';
import { ELICITATION_RESPONSE_SCHEMA, SEP1034_REQUESTED_SCHEMA, SEP1330_REQUESTED_SCHEMA } from './fixtures.js';
import { declaredCapabilities, isLegacyEra, samplingText } from './input-required.js';

type ToolResult = Promise<CallToolResult | InputRequiredResult>;
type RequestedSchema = ElicitRequestFormParams['requestedSchema'];

const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });

/** A 2025 session's client that did not declare `capability` (a 2026 request is the SDK's to refuse). */
function legacyLacks(server: McpServer, ctx: ToolsetContext, hctx: HandlerContext, capability: 'sampling' | 'elicitation'): boolean {
  return isLegacyEra(ctx, hctx) && declaredCapabilities(server, ctx, hctx)[capability] === undefined;
}

/** Registers a form elicitation fixture: one request, then the answer described as `<prefix>: action=…, content=…`. */
function elicitationTool(
  server: McpServer,
  ctx: ToolsetContext,
  name: string,
  description: string,
  inputSchema: z.ZodObject,
  request: (args: Record<string, unknown>) => { message: string; requestedSchema: RequestedSchema },
  prefix: string,
): void {
  server.registerTool(name, { description, inputSchema }, async (args, hctx): ToolResult => {
    const answer = inputResponse(hctx.mcpReq.inputResponses, 'form');
    if (answer.kind === 'elicit') {
      return text(`${prefix}: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`);
    }
    if (legacyLacks(server, ctx, hctx, 'elicitation')) {
      return text('Elicitation not supported or error: the client did not declare the elicitation capability');
    }
    return inputRequired({ inputRequests: { form: inputRequired.elicit(request(args)) } });
  });
}

export function registerClientRequests(server: McpServer, ctx: ToolsetContext): void {
  server.registerTool(
    'test_sampling',
    {
      description: 'Tests server-initiated sampling (LLM completion request)',
      inputSchema: z.object({ prompt: z.string().describe('The prompt to send to the LLM') }),
    },
    async ({ prompt }, hctx): ToolResult => {
      const answer = inputResponse(hctx.mcpReq.inputResponses, 'completion');
      if (answer.kind === 'sampling') return text(`LLM response: ${samplingText(answer.result) ?? 'No response'}`);
      if (legacyLacks(server, ctx, hctx, 'sampling')) {
        return text('Sampling not supported or error: the client did not declare the sampling capability');
      }
      return inputRequired({
        inputRequests: {
          completion: inputRequired.createMessage({
            messages: [{ role: 'user', content: { type: 'text', text: prompt } }],
            maxTokens: 100,
          }),
        },
      });
    },
  );

  elicitationTool(
    server,
    ctx,
    'test_elicitation',
    'Tests server-initiated elicitation (user input request)',
    z.object({ message: z.string().describe('The message to show the user') }),
    (args) => ({ message: String(args.message), requestedSchema: ELICITATION_RESPONSE_SCHEMA }),
    'User response',
  );

  elicitationTool(
    server,
    ctx,
    'test_elicitation_sep1034_defaults',
    'Tests elicitation with default values per SEP-1034',
    z.object({}),
    () => ({ message: 'Please review and update the form fields with defaults', requestedSchema: SEP1034_REQUESTED_SCHEMA }),
    'Elicitation completed',
  );

  elicitationTool(
    server,
    ctx,
    'test_elicitation_sep1330_enums',
    'Tests elicitation with enum schema improvements per SEP-1330',
    z.object({}),
    () => ({ message: 'Please select options from the enum fields', requestedSchema: SEP1330_REQUESTED_SCHEMA }),
    'Elicitation completed',
  );
}
