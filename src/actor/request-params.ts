/**
 * Params checks of the client requests a session serves, done in the actor thread before the SDK
 * sees the request: the SDK's own schemas, but an invalid request is answered -32602 "Invalid
 * params" with one short line per problem naming the field — not the SDK's -32603 with a raw zod
 * dump (its handlers parse the request themselves and report any failure as an internal error).
 */
import {
  CallToolRequestSchema, CompleteRequestSchema, GetPromptRequestSchema, ListPromptsRequestSchema,
  ListResourceTemplatesRequestSchema, ListResourcesRequestSchema, ListToolsRequestSchema,
  ReadResourceRequestSchema, SetLevelRequestSchema, SubscribeRequestSchema, UnsubscribeRequestSchema,
} from '@modelcontextprotocol/core';

interface Schema {
  safeParse(v: unknown): { success: true } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } };
}

const SCHEMAS: Record<string, Schema> = {
  'tools/call': CallToolRequestSchema,
  'tools/list': ListToolsRequestSchema,
  'resources/read': ReadResourceRequestSchema,
  'resources/list': ListResourcesRequestSchema,
  'resources/templates/list': ListResourceTemplatesRequestSchema,
  'resources/subscribe': SubscribeRequestSchema,
  'resources/unsubscribe': UnsubscribeRequestSchema,
  'prompts/get': GetPromptRequestSchema,
  'prompts/list': ListPromptsRequestSchema,
  'logging/setLevel': SetLevelRequestSchema,
  'completion/complete': CompleteRequestSchema,
};

const MAX_PROBLEMS = 3;

const LISTS = new Set(['tools/list', 'resources/list', 'prompts/list', 'resources/templates/list']);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `_meta` absent, or carrying only a progress token of the right type. */
function plainMeta(meta: unknown): boolean {
  if (meta === undefined) return true;
  if (!isPlainObject(meta)) return false;
  for (const k in meta) if (k !== 'progressToken') return false;
  const t = meta.progressToken;
  return t === undefined || typeof t === 'string' || typeof t === 'number';
}

/**
 * The shapes nearly every request has, recognised without zod (a full parse costs more than the
 * echo tool it guards; the SDK parses the request again anyway). Conservative: anything else —
 * an extra key, an unusual `_meta` — gets the full check.
 */
function obviouslyValid(method: string, params: unknown): boolean {
  if (method === 'tools/call') {
    if (!isPlainObject(params) || typeof params.name !== 'string') return false;
    for (const k in params) if (k !== 'name' && k !== 'arguments' && k !== '_meta') return false;
    return (params.arguments === undefined || isPlainObject(params.arguments)) && plainMeta(params._meta);
  }
  if (LISTS.has(method)) {
    if (params === undefined) return true;
    if (!isPlainObject(params)) return false;
    for (const k in params) if (k !== 'cursor' && k !== '_meta') return false;
    return (params.cursor === undefined || typeof params.cursor === 'string') && plainMeta(params._meta);
  }
  return false;
}

/** undefined when the request's params are valid (or its method is not checked here); else the -32602 message. */
export function invalidParams(method: string, params: unknown): string | undefined {
  const schema = SCHEMAS[method];
  if (!schema || obviouslyValid(method, params)) return undefined;
  const r = schema.safeParse({ method, params });
  if (r.success) return undefined;
  const problems = r.error.issues.slice(0, MAX_PROBLEMS).map((i) => {
    const path = i.path.slice(i.path[0] === 'params' ? 1 : 0).join('.');
    return path ? `${path}: ${i.message}` : i.message;
  });
  const more = r.error.issues.length > MAX_PROBLEMS ? ` (and ${r.error.issues.length - MAX_PROBLEMS} more)` : '';
  return `Invalid params for ${method}: ${problems.join('; ')}${more}`;
}
