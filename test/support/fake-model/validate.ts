// The checks a request to the fake must pass, with errors worded like the real API's. Written from
// the Messages API documentation, independently of the agent's own code.

export const ANTHROPIC_VERSION = '2023-06-01';
export const COMPUTER_TOOL_TYPE = 'computer_20250124';
export const COMPUTER_USE_BETA = 'computer-use-2025-01-24';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

export interface ToolResultFact {
  toolUseId: string;
  isError: boolean;
  /** Text blocks (or the string content) of the result. */
  texts: string[];
  /** Image blocks in the result. */
  images: number;
}

/** What the fake learned from a valid request. */
export interface RequestFacts {
  /** Image blocks in the whole request (tool_result contents included). */
  imageCount: number;
  /** The tool_results of the last message. */
  toolResults: ToolResultFact[];
}

export class RequestInvalid extends Error {
  constructor(
    readonly status: number,
    readonly type: 'invalid_request_error' | 'authentication_error' | 'not_found_error',
    message: string,
  ) {
    super(message);
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const invalid = (message: string) => new RequestInvalid(400, 'invalid_request_error', message);

/** Headers: x-api-key (and the expected key, if one is set), anthropic-version, content type. */
export function checkHeaders(headers: Record<string, string>, expectedKey: string | undefined): void {
  const key = headers['x-api-key'];
  if (key === undefined || key === '') throw new RequestInvalid(401, 'authentication_error', 'x-api-key header is required');
  if (expectedKey !== undefined && key !== expectedKey) throw new RequestInvalid(401, 'authentication_error', 'invalid x-api-key');
  const version = headers['anthropic-version'];
  if (version === undefined) throw invalid('anthropic-version: header is required');
  if (version !== ANTHROPIC_VERSION) throw invalid(`anthropic-version: unknown version ${version}`);
  if (!(headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) throw invalid('content-type must be application/json');
}

function checkImage(block: Obj, where: string): void {
  const source = block.source;
  if (!isObj(source) || source.type !== 'base64') throw invalid(`${where}.source: expected a base64 source`);
  if (typeof source.media_type !== 'string' || !IMAGE_TYPES.has(source.media_type)) throw invalid(`${where}.source.media_type: unsupported ${String(source.media_type)}`);
  if (typeof source.data !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(source.data)) throw invalid(`${where}.source.data: not base64`);
  if (source.media_type === 'image/png' && !Buffer.from(source.data.slice(0, 12), 'base64').subarray(0, 8).equals(PNG_SIGNATURE)) {
    throw invalid(`${where}.source.data: media_type is image/png but the data is not a PNG`);
  }
}

function toolResultFact(block: Obj, where: string): ToolResultFact {
  if (typeof block.tool_use_id !== 'string') throw invalid(`${where}.tool_use_id: Field required`);
  if (block.is_error !== undefined && typeof block.is_error !== 'boolean') throw invalid(`${where}.is_error: must be a boolean`);
  const fact: ToolResultFact = { toolUseId: block.tool_use_id, isError: block.is_error === true, texts: [], images: 0 };
  const content = block.content;
  if (typeof content === 'string') fact.texts.push(content);
  else if (Array.isArray(content)) {
    content.forEach((inner: unknown, j) => {
      const at = `${where}.content.${j}`;
      if (!isObj(inner)) throw invalid(`${at}: not an object`);
      if (inner.type === 'text') {
        if (typeof inner.text !== 'string') throw invalid(`${at}.text: Field required`);
        fact.texts.push(inner.text);
      } else if (inner.type === 'image') {
        checkImage(inner, at);
        fact.images++;
      } else throw invalid(`${at}.type: a tool_result may hold text and image blocks, got ${String(inner.type)}`);
    });
  } else if (content !== undefined) throw invalid(`${where}.content: must be a string or a list of blocks`);
  return fact;
}

function checkTools(body: Obj, headers: Record<string, string>): boolean {
  if (body.tools === undefined) return false;
  if (!Array.isArray(body.tools)) throw invalid('tools: Input should be a valid list');
  body.tools.forEach((tool: unknown, i) => {
    if (!isObj(tool)) throw invalid(`tools.${i}: not an object`);
    if (tool.type !== COMPUTER_TOOL_TYPE) throw invalid(`tools.${i}.type: this fake only knows ${COMPUTER_TOOL_TYPE}, got ${String(tool.type)}`);
    if (tool.name !== 'computer') throw invalid(`tools.${i}.name: must be "computer"`);
    for (const k of ['display_width_px', 'display_height_px']) {
      const v = tool[k];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw invalid(`tools.${i}.${k}: must be a positive integer`);
    }
    const betas = (headers['anthropic-beta'] ?? '').split(',').map((b) => b.trim());
    if (!betas.includes(COMPUTER_USE_BETA)) throw invalid(`tools.${i}: ${COMPUTER_TOOL_TYPE} requires the anthropic-beta header ${COMPUTER_USE_BETA}`);
  });
  return body.tools.length > 0;
}

/**
 * The body: model, max_tokens, system, tools, and a conversation in which roles alternate from
 * the user, every assistant tool_use is answered by a tool_result (placed first) in the very next
 * message, and no tool_result answers anything else. `outstanding` are the tool_use ids of the
 * fake's previous answer: the request must end with their results.
 */
export function checkBody(body: unknown, headers: Record<string, string>, outstanding: readonly string[]): RequestFacts {
  if (!isObj(body)) throw invalid('the body must be a JSON object');
  if (typeof body.model !== 'string' || body.model === '') throw invalid('model: Field required');
  if (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens) || body.max_tokens < 1) throw invalid('max_tokens: must be a positive integer');
  if (body.system !== undefined && typeof body.system !== 'string' && !Array.isArray(body.system)) throw invalid('system: must be a string or a list of text blocks');
  const hasTools = checkTools(body, headers);
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) throw invalid('messages: at least one message is required');

  let imageCount = 0;
  let lastResults: ToolResultFact[] = [];
  let pendingUses: string[] = [];
  messages.forEach((m: unknown, i) => {
    const where = `messages.${i}`;
    if (!isObj(m)) throw invalid(`${where}: not an object`);
    const role = m.role;
    if (role !== 'user' && role !== 'assistant') throw invalid(`${where}.role: must be user or assistant`);
    if (i === 0 && role !== 'user') throw invalid('messages: first message must use the "user" role');
    if (i > 0 && (messages[i - 1] as Obj).role === role) throw invalid(`messages: roles must alternate between "user" and "assistant" (messages.${i})`);
    const blocks: unknown[] = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : Array.isArray(m.content) ? m.content : [];
    if (blocks.length === 0) throw invalid(`${where}: all messages must have non-empty content`);

    const uses: string[] = [];
    const results: ToolResultFact[] = [];
    let seenOther = false;
    blocks.forEach((b, j) => {
      const at = `${where}.content.${j}`;
      if (!isObj(b) || typeof b.type !== 'string') throw invalid(`${at}: a block needs a type`);
      switch (b.type) {
        case 'text':
          if (typeof b.text !== 'string') throw invalid(`${at}.text: Field required`);
          seenOther = true;
          break;
        case 'image':
          checkImage(b, at);
          imageCount++;
          seenOther = true;
          break;
        case 'tool_use':
          if (role !== 'assistant') throw invalid(`${at}: tool_use blocks may only appear in assistant messages`);
          if (typeof b.id !== 'string' || typeof b.name !== 'string' || !isObj(b.input)) throw invalid(`${at}: tool_use needs id, name and input`);
          uses.push(b.id);
          break;
        case 'tool_result': {
          if (role !== 'user') throw invalid(`${at}: tool_result blocks may only appear in user messages`);
          if (seenOther) throw invalid(`${at}: tool_result blocks must come first in the content, before any other block`);
          const fact = toolResultFact(b, at);
          imageCount += fact.images;
          results.push(fact);
          break;
        }
        default:
          seenOther = true; // thinking and the like: passed through
      }
    });
    if ((uses.length > 0 || results.length > 0) && !hasTools) throw invalid('Requests which include `tool_use` or `tool_result` blocks must define tools.');

    if (role === 'user') {
      const answered = results.map((r) => r.toolUseId);
      const unexpected = answered.filter((id) => !pendingUses.includes(id));
      if (unexpected.length > 0) {
        throw invalid(`${where}.content: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${unexpected.join(', ')}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`);
      }
      const duplicated = answered.filter((id, k) => answered.indexOf(id) !== k);
      if (duplicated.length > 0) throw invalid(`${where}.content: tool_use ids answered twice: ${duplicated.join(', ')}`);
      lastResults = results;
    }
    if (role === 'user' && pendingUses.length > 0) {
      const missing = pendingUses.filter((id) => !results.some((r) => r.toolUseId === id));
      if (missing.length > 0) {
        throw invalid(`messages.${i - 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`);
      }
    }
    pendingUses = role === 'assistant' ? uses : [];
    if (role === 'assistant') lastResults = [];
  });
  const last = messages[messages.length - 1] as Obj;
  if (last.role !== 'user') throw invalid('messages: the last message must be a user message (answering the model)');

  // The conversation must end with the results of exactly what the fake asked for last.
  const answeredNow = lastResults.map((r) => r.toolUseId);
  const missing = outstanding.filter((id) => !answeredNow.includes(id));
  const extra = answeredNow.filter((id) => !outstanding.includes(id));
  if (missing.length > 0 || extra.length > 0) {
    throw invalid(
      `messages.${messages.length - 1}: the tool_results must answer the previous response's tool_use ids ` +
        `[${outstanding.join(', ')}], got [${answeredNow.join(', ')}]`,
    );
  }
  return { imageCount, toolResults: lastResults };
}
