// A loopback fake of the Anthropic Messages API (POST /v1/messages) that plays a script of
// computer-use turns, records every request, and refuses malformed ones the way the real API does.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import { errorBody, faultResponse, message, newRequestId, type FakeMessage } from './responses.js';
import { ScriptPlayer, type FakeToolInput, type ScriptStep } from './script.js';
import { checkBody, checkHeaders, RequestInvalid, type ToolResultFact } from './validate.js';

export const LOOPBACK = '127.0.0.1';
const MAX_BODY_BYTES = 64 * 1024 * 1024;

export interface FakeModelOptions {
  script: readonly ScriptStep[];
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** If set, requests must carry exactly this x-api-key (401 otherwise); any non-empty key passes if not. */
  apiKey?: string;
  /** Delay before every answer, in ms (a step's own delayMs adds to it). */
  delayMs?: number;
  /** The answer once the script is over (default: a final "script finished" text). */
  afterScript?: ScriptStep;
}

/** The parsed body, loosely typed for assertions. */
export interface FakeRequestBody {
  model: string;
  max_tokens: number;
  system?: unknown;
  tools?: Array<Record<string, unknown>>;
  messages: Array<{ role: string; content: unknown }>;
}

export interface RecordedRequest {
  /** 0-based arrival order. */
  index: number;
  method: string;
  path: string;
  /** Lower-cased header names, as sent (x-api-key included: this is a test double). */
  headers: Record<string, string>;
  /** Parsed JSON body (undefined if it did not parse). */
  body: FakeRequestBody | undefined;
  /** Image blocks anywhere in the request. */
  imageCount: number;
  /** The tool_results of the request's last message. */
  toolResults: ToolResultFact[];
  /** HTTP status answered; null while pending, or if the client went away first. */
  status: number | null;
  /** Error type answered (validation failure or injected fault). */
  errorType?: string;
  errorMessage?: string;
  /** Script step that answered it. */
  scriptIndex?: number;
  /** The message answered (2xx only). */
  response?: FakeMessage;
  receivedAt: number;
  answeredAt?: number;
}

export interface FakeModel {
  /** e.g. "http://127.0.0.1:40123" (no trailing slash) — the baseUrl for the agent. */
  readonly url: string;
  readonly port: number;
  /** Every request received, oldest first. */
  readonly requests: readonly RecordedRequest[];
  /** Whether every step of the script has been played. */
  readonly scriptDone: boolean;
  /** Stop listening and drop every connection, pending answers included. Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_AFTER_SCRIPT: ScriptStep = { final: 'The script is finished.' };

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new RequestInvalid(400, 'invalid_request_error', 'request too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function headerRecord(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

export async function startFakeModel(options: FakeModelOptions): Promise<FakeModel> {
  const player = new ScriptPlayer(options.script);
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const sleepers = new Set<() => void>();
  let outstanding: string[] = [];
  let closed = false;

  /** Waits `ms`, less if the fake closes or the client goes away. */
  const pause = (ms: number, res: ServerResponse) =>
    new Promise<void>((resolve) => {
      if (ms <= 0 || closed || res.destroyed) return resolve();
      const done = () => {
        clearTimeout(timer);
        sleepers.delete(done);
        res.off('close', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      sleepers.add(done);
      res.on('close', done);
    });

  function send(res: ServerResponse, entry: RecordedRequest, status: number, body: string, extra: Record<string, string> = {}): void {
    if (res.destroyed || res.writableEnded) return;
    entry.status = status;
    entry.answeredAt = Date.now();
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...extra });
    res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = newRequestId();
    const headers = headerRecord(req);
    const entry: RecordedRequest = {
      index: requests.length,
      method: req.method ?? 'GET',
      path: new URL(req.url ?? '/', `http://${LOOPBACK}`).pathname,
      headers,
      body: undefined,
      imageCount: 0,
      toolResults: [],
      status: null,
      receivedAt: Date.now(),
    };
    requests.push(entry);
    let clientGone = false;
    res.on('close', () => {
      if (!res.writableFinished) clientGone = true;
    });
    const refuse = (err: RequestInvalid) => {
      entry.errorType = err.type;
      entry.errorMessage = err.message;
      send(res, entry, err.status, errorBody(err.type, err.message, requestId), { 'request-id': requestId });
    };

    let raw: Buffer;
    try {
      raw = await readBody(req);
    } catch (err) {
      if (err instanceof RequestInvalid) refuse(err);
      return;
    }
    try {
      if (entry.method !== 'POST' || entry.path !== '/v1/messages') throw new RequestInvalid(404, 'not_found_error', `Not found: ${entry.method} ${entry.path}`);
      checkHeaders(headers, options.apiKey);
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new RequestInvalid(400, 'invalid_request_error', 'There was an issue with your request: the body is not valid JSON');
      }
      entry.body = body as FakeRequestBody;
      const facts = checkBody(body, headers, outstanding);
      entry.imageCount = facts.imageCount;
      entry.toolResults = facts.toolResults;
    } catch (err) {
      if (err instanceof RequestInvalid) return refuse(err);
      throw err;
    }

    const next = player.peek();
    const step = next?.step ?? options.afterScript ?? DEFAULT_AFTER_SCRIPT;
    await pause((options.delayMs ?? 0) + (step.delayMs ?? 0), res);
    if (closed || clientGone) return; // the client gave up: the step stays
    player.consume();
    if (next !== undefined) entry.scriptIndex = next.index;

    if ('fail' in step) {
      const f = faultResponse(step.fail, requestId);
      if (f.errorType !== undefined) entry.errorType = f.errorType;
      if (f.message !== undefined) entry.errorMessage = f.message;
      const extra: Record<string, string> = { 'request-id': requestId };
      if (step.retryAfter !== undefined) extra['retry-after'] = String(step.retryAfter);
      send(res, entry, f.status, f.body, extra);
      return;
    }
    const model = entry.body?.model ?? 'fake';
    const uses: FakeToolInput[] = 'use' in step ? (Array.isArray(step.use) ? step.use : [step.use]) : [];
    const answer =
      'use' in step
        ? message(model, step.text, uses, 'tool_use', raw.length)
        : message(model, step.final, [], step.stopReason ?? 'end_turn', raw.length);
    outstanding = answer.content.flatMap((b) => (b.type === 'tool_use' ? [b.id] : []));
    entry.response = answer;
    send(res, entry, 200, JSON.stringify(answer), { 'request-id': requestId });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const entry = requests[requests.length - 1];
      if (entry && !res.headersSent) send(res, entry, 500, errorBody('api_error', `fake model bug: ${(err as Error).message}`, newRequestId()));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, LOOPBACK, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${LOOPBACK}:${port}`,
    port,
    requests,
    get scriptDone() {
      return player.done;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        closed = true;
        for (const wake of [...sleepers]) wake();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}
