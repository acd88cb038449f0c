/**
 * The multi-round-trip fixtures (SEP-2322, MCP 2026-07-28): the `test_input_required_result_*`
 * tools and the `test_input_required_result_prompt` prompt. Each handler returns `inputRequired(...)`
 * until the retried request carries the responses it needs, then completes:
 * - a 2026-07-28 client answers by retrying with `inputResponses` (and the echoed `requestState`);
 * - a 2025 session gets real elicitation/sampling/roots requests from the SDK's legacy shim, which
 *   re-enters the handler with the answers.
 *
 * Responses are untrusted input: a missing, declined or malformed one (a number, `null`, the wrong
 * kind) is asked for again, never taken for an answer. State that a later round needs is signed by
 * `ctx.requestState.mint`; the runtime verifies it before the handler runs (tampered or expired
 * state is refused with -32602), so `hctx.mcpReq.requestState()` is the payload minted here.
 */
import {
  acceptedContent,
  CLIENT_CAPABILITIES_META_KEY,
  inputRequired,
  inputResponse,
  type CallToolResult,
  type ClientCapabilities,
  type CreateMessageResult,
  type CreateMessageResultWithTools,
  type GetPromptResult,
  type InputRequest,
  type InputRequests,
  type InputRequiredResult,
  type McpServer,
  type Root,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { HandlerContext, ToolsetContext } from '../types.js';

type ToolResult = Promise<CallToolResult | InputRequiredResult>;

const noArgs = z.object({});

const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });

/**
 * Whether this request comes from a 2025-era session: as the runtime says, or (outside it) for want
 * of a per-request `_meta` envelope, which every 2026-07-28 request carries.
 */
export function isLegacyEra(ctx: ToolsetContext, hctx: HandlerContext): boolean {
  const era = ctx.request(hctx)?.era;
  return era !== undefined ? era === 'legacy' : hctx.mcpReq.envelope === undefined;
}

/**
 * The client capabilities this request may rely on — the same view the SDK checks input requests
 * against: a 2026 request's own (its `_meta` envelope), a 2025 session's from its initialize. (The
 * SDK's published typings lose the envelope's key types — `RequestMetaEnvelope` is `{}` in its
 * .d.mts — hence the cast.)
 */
export function declaredCapabilities(server: McpServer, ctx: ToolsetContext, hctx: HandlerContext): ClientCapabilities {
  if (isLegacyEra(ctx, hctx)) return server.server.getClientCapabilities() ?? {};
  const envelope = hctx.mcpReq.envelope as { [CLIENT_CAPABILITIES_META_KEY]?: ClientCapabilities } | undefined;
  return envelope?.[CLIENT_CAPABILITIES_META_KEY] ?? {};
}

/** The first text of a sampling result, if it has one. */
export function samplingText(result: CreateMessageResult | CreateMessageResultWithTools): string | undefined {
  const blocks: unknown[] = Array.isArray(result.content) ? result.content : [result.content];
  for (const block of blocks) {
    const b = block as { type?: unknown; text?: unknown } | null;
    if (b?.type === 'text' && typeof b.text === 'string') return b.text;
  }
  return undefined;
}

/** A one-field required-string elicitation form, and the schema its accepted content must match. */
function stringForm(field: string, message: string) {
  return {
    request: (): InputRequest =>
      inputRequired.elicit({
        message,
        requestedSchema: { type: 'object', properties: { [field]: { type: 'string' } }, required: [field] },
      }),
    read: (hctx: HandlerContext, key: string): string | undefined =>
      acceptedContent(hctx.mcpReq.inputResponses, key, z.object({ [field]: z.string() }))?.[field] as string | undefined,
  };
}

const askName = stringForm('name', 'What is your name?');
const askContext = stringForm('context', 'What context should the prompt use?');
const askStep1 = stringForm('name', 'Step 1: What is your name?');
const askStep2 = stringForm('color', 'Step 2: What is your favorite color?');

const confirmSchema = z.object({ ok: z.boolean() });
const askConfirm = (): InputRequest =>
  inputRequired.elicit({
    message: 'Please confirm',
    requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] },
  });

const askSampling = (prompt: string, maxTokens: number): InputRequest =>
  inputRequired.createMessage({ messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens });

const describeRoots = (roots: Root[]): string => {
  const uris = roots.map((root) => (typeof root?.uri === 'string' ? root.uri : '?'));
  return `${roots.length} root(s)${uris.length > 0 ? `: ${uris.join(', ')}` : ''}`;
};

/** The multi_round fixture's state, one per round: step 1 asked, or step 2 asked with step 1's answer. */
const roundState = z.union([z.object({ round: z.literal(1) }), z.object({ round: z.literal(2), name: z.string() })]);

export function registerInputRequired(server: McpServer, ctx: ToolsetContext): void {
  // Also used by the result-type, missing-input-response, ignore-extra-params and validate-input
  // scenarios: only an accepted `user_name` with a string `name` completes it.
  server.registerTool(
    'test_input_required_result_elicitation',
    { description: 'MRTR: asks for your name with a form elicitation (key user_name), then greets you', inputSchema: noArgs },
    async (_args, hctx): ToolResult => {
      const name = askName.read(hctx, 'user_name');
      if (name === undefined) return inputRequired({ inputRequests: { user_name: askName.request() } });
      return text(`Hello, ${name}!`);
    },
  );

  server.registerTool(
    'test_input_required_result_sampling',
    { description: 'MRTR: asks the client\'s model a question (sampling, key capital_question), then returns its answer', inputSchema: noArgs },
    async (_args, hctx): ToolResult => {
      const answer = inputResponse(hctx.mcpReq.inputResponses, 'capital_question');
      if (answer.kind !== 'sampling') {
        return inputRequired({ inputRequests: { capital_question: askSampling('What is the capital of France?', 100) } });
      }
      return text(`Sampling response: ${samplingText(answer.result) ?? '(no text content)'}`);
    },
  );

  server.registerTool(
    'test_input_required_result_list_roots',
    { description: 'MRTR: asks for the client\'s roots (roots/list, key client_roots), then lists them', inputSchema: noArgs },
    async (_args, hctx): ToolResult => {
      const answer = inputResponse(hctx.mcpReq.inputResponses, 'client_roots');
      if (answer.kind !== 'roots') return inputRequired({ inputRequests: { client_roots: inputRequired.listRoots() } });
      return text(`Client roots: ${describeRoots(answer.roots)}`);
    },
  );

  server.registerTool(
    'test_input_required_result_request_state',
    { description: 'MRTR: asks for a confirmation (key confirm) with signed requestState; completes only with both back', inputSchema: noArgs },
    async (_args, hctx): ToolResult => {
      const confirmation = acceptedContent(hctx.mcpReq.inputResponses, 'confirm', confirmSchema);
      if (confirmation === undefined || hctx.mcpReq.requestState() === undefined) {
        return inputRequired({
          inputRequests: { confirm: askConfirm() },
          requestState: await ctx.requestState.mint({ fixture: 'request_state' }, hctx),
        });
      }
      return text(`state-ok: requestState verified, ok=${confirmation.ok}`);
    },
  );

  server.registerTool(
    'test_input_required_result_multiple_inputs',
    {
      description: 'MRTR: asks for a name (elicitation), a greeting (sampling) and the roots in one round, with signed requestState',
      inputSchema: noArgs,
    },
    async (_args, hctx): ToolResult => {
      const name = askName.read(hctx, 'user_name');
      const greeting = inputResponse(hctx.mcpReq.inputResponses, 'greeting');
      const roots = inputResponse(hctx.mcpReq.inputResponses, 'client_roots');
      if (name === undefined || greeting.kind !== 'sampling' || roots.kind !== 'roots' || hctx.mcpReq.requestState() === undefined) {
        return inputRequired({
          inputRequests: {
            user_name: askName.request(),
            greeting: askSampling('Generate a greeting', 50),
            client_roots: inputRequired.listRoots(),
          },
          requestState: await ctx.requestState.mint({ fixture: 'multiple_inputs' }, hctx),
        });
      }
      return text(`${samplingText(greeting.result) ?? 'Hello'} ${name} (${describeRoots(roots.roots)})`);
    },
  );

  // The round lives in the signed state, minted anew each round (so each round's state differs).
  server.registerTool(
    'test_input_required_result_multi_round',
    { description: 'MRTR: two elicitation rounds (step1: name, step2: color), each with new signed requestState', inputSchema: noArgs },
    async (_args, hctx): ToolResult => {
      const state = roundState.safeParse(hctx.mcpReq.requestState()).data;
      const askStep1Round = async () =>
        inputRequired({ inputRequests: { step1: askStep1.request() }, requestState: await ctx.requestState.mint({ round: 1 }, hctx) });
      const askStep2Round = async (name: string) =>
        inputRequired({ inputRequests: { step2: askStep2.request() }, requestState: await ctx.requestState.mint({ round: 2, name }, hctx) });
      if (state === undefined) return askStep1Round();
      if (state.round === 1) {
        const name = askStep1.read(hctx, 'step1');
        return name === undefined ? askStep1Round() : askStep2Round(name);
      }
      const color = askStep2.read(hctx, 'step2');
      if (color === undefined) return askStep2Round(state.name);
      return text(`Multi-round complete: ${state.name} likes ${color}`);
    },
  );

  // The runtime refuses tampered state (-32602) before this handler runs: it only sees verified state.
  server.registerTool(
    'test_input_required_result_tampered_state',
    { description: 'MRTR: asks for a confirmation with signed requestState; tampered state is refused before the tool runs', inputSchema: noArgs },
    async (_args, hctx): ToolResult => {
      const confirmation = acceptedContent(hctx.mcpReq.inputResponses, 'confirm', confirmSchema);
      if (confirmation === undefined || hctx.mcpReq.requestState() === undefined) {
        return inputRequired({
          inputRequests: { confirm: askConfirm() },
          requestState: await ctx.requestState.mint({ fixture: 'tampered_state' }, hctx),
        });
      }
      return text('integrity-ok: requestState verified');
    },
  );

  // Asks only for the kinds of input this request's client capabilities allow (the SDK would
  // refuse any other with -32021); a 2025 session's are those it declared at initialize.
  server.registerTool(
    'test_input_required_result_capabilities',
    { description: 'MRTR: asks only for the kinds of input (elicitation, sampling, roots) the client declared', inputSchema: noArgs },
    async (_args, hctx): ToolResult => {
      const caps = declaredCapabilities(server, ctx, hctx);
      const wanted: InputRequests = {};
      const answered: boolean[] = [];
      // Form elicitation needs `elicitation.form`, or a bare `elicitation: {}` (the pre-mode form).
      if (caps.elicitation !== undefined && (caps.elicitation.form !== undefined || caps.elicitation.url === undefined)) {
        wanted.user_name = askName.request();
        answered.push(askName.read(hctx, 'user_name') !== undefined);
      }
      if (caps.sampling !== undefined) {
        wanted.greeting = askSampling('Generate a short greeting', 50);
        answered.push(inputResponse(hctx.mcpReq.inputResponses, 'greeting').kind === 'sampling');
      }
      if (caps.roots !== undefined) {
        wanted.client_roots = inputRequired.listRoots();
        answered.push(inputResponse(hctx.mcpReq.inputResponses, 'client_roots').kind === 'roots');
      }
      const keys = Object.keys(wanted);
      if (keys.length === 0) return text('The client declared no capability that allows an input request');
      if (!answered.every(Boolean)) return inputRequired({ inputRequests: wanted });
      return text(`Capability-aware input requests fulfilled: ${keys.join(', ')}`);
    },
  );

  server.registerPrompt(
    'test_input_required_result_prompt',
    { title: 'MRTR Prompt', description: 'MRTR: asks for the context to use (key user_context) before rendering the prompt' },
    async (hctx): Promise<GetPromptResult | InputRequiredResult> => {
      const context = askContext.read(hctx, 'user_context');
      if (context === undefined) return inputRequired({ inputRequests: { user_context: askContext.request() } });
      return { messages: [{ role: 'user', content: { type: 'text', text: `Use the following context: ${context}` } }] };
    },
  );
}
