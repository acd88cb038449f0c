// Fault injection: tests program misbehaviour per endpoint at runtime.
//
//   exchange.fault({ path: '/api/v3/order', method: 'POST', kind: 'hangAfterCommit', times: 1 })
//
// Rules are checked in the order they were added; the first one that matches the request's
// method, pathname (string = exact, RegExp = test) and optional API key applies and uses up
// one of its `times` (default: unlimited). Faults act at the "gateway" — before
// authentication — except the *AfterCommit kinds, which let the request take full effect and
// then lose the response.

import { STATUS_CODES } from 'node:http';

import { binanceError } from './errors.js';

interface FaultMatch {
  /** Exact pathname ('/api/v3/order') or a RegExp tested against the pathname. */
  path: string | RegExp;
  /** HTTP method; any method if omitted. */
  method?: string;
  /** Only requests sent with this X-MBX-APIKEY. */
  apiKey?: string;
  /** How many matching requests to affect (default: all of them, until cleared). */
  times?: number;
}

export type FaultSpec = FaultMatch &
  (
    | { /** Wait `delayMs`, then answer normally. */ kind: 'slow'; delayMs: number }
    | {
        /** Answer with this HTTP status and a plausible body (override with `body`). */
        kind: 'status';
        status: number;
        body?: string;
        headers?: Record<string, string>;
      }
    | {
        /** Answer with a Binance error `{"code","msg"}`; HTTP status defaults to Binance's. */
        kind: 'exchangeError';
        code: number;
        msg?: string;
        httpStatus?: number;
      }
    | { /** A non-JSON body (HTTP 200 unless `status` is given). */ kind: 'garbage'; body?: string; status?: number }
    | { /** Never answer (the socket stays open until the client gives up). */ kind: 'hang' }
    | { /** Process the request (e.g. create the order), then never answer. */ kind: 'hangAfterCommit' }
    | { /** Destroy the TCP connection without answering. */ kind: 'reset' }
    | { /** Process the request, then destroy the connection without answering. */ kind: 'resetAfterCommit' }
  );

export type FaultKind = FaultSpec['kind'];

export interface FaultHandle {
  readonly id: number;
  /** Requests this fault has affected so far. */
  readonly hits: number;
  /** Requests it will still affect (Infinity when unlimited; 0 once used up or cancelled). */
  readonly remaining: number;
  cancel(): void;
}

interface Rule {
  id: number;
  spec: FaultSpec;
  hits: number;
  remaining: number;
}

export class FaultTable {
  private rules: Rule[] = [];
  private nextId = 1;

  add(spec: FaultSpec): FaultHandle {
    validate(spec);
    const rule: Rule = { id: this.nextId++, spec, hits: 0, remaining: spec.times ?? Infinity };
    this.rules.push(rule);
    const rules = () => this.rules;
    const drop = () => {
      this.rules = this.rules.filter((r) => r !== rule);
    };
    return {
      id: rule.id,
      get hits() {
        return rule.hits;
      },
      get remaining() {
        return rules().includes(rule) ? rule.remaining : 0;
      },
      cancel() {
        rule.remaining = 0;
        drop();
      },
    };
  }

  clear(): void {
    for (const r of this.rules) r.remaining = 0;
    this.rules = [];
  }

  /** Find (and consume one use of) the first rule matching this request. */
  take(method: string, pathname: string, apiKey: string | null): FaultSpec | undefined {
    for (const rule of this.rules) {
      const s = rule.spec;
      if (s.method !== undefined && s.method.toUpperCase() !== method) continue;
      if (typeof s.path === 'string' ? s.path !== pathname : !s.path.test(pathname)) continue;
      if (s.apiKey !== undefined && s.apiKey !== apiKey) continue;
      rule.hits++;
      rule.remaining--;
      if (rule.remaining <= 0) this.rules = this.rules.filter((r) => r !== rule);
      return s;
    }
    return undefined;
  }
}

function validate(spec: FaultSpec): void {
  if (spec.times !== undefined && !(spec.times >= 1)) throw new Error('fake-exchange: fault times must be >= 1');
  if (spec.kind === 'slow' && !(spec.delayMs >= 0)) throw new Error('fake-exchange: slow fault needs delayMs >= 0');
  if (spec.kind === 'status' && !(spec.status >= 100 && spec.status <= 599)) {
    throw new Error('fake-exchange: status fault needs an HTTP status');
  }
}

export interface CannedResponse {
  status: number;
  body: string;
  headers: Record<string, string>;
}

const JSON_TYPE = 'application/json;charset=UTF-8';
const HTML_TYPE = 'text/html';

function gatewayPage(status: number): string {
  const title = `${status} ${STATUS_CODES[status] ?? 'Error'}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n</body>\r\n</html>\r\n`;
}

/** The response for `status`, `exchangeError` and `garbage` faults. */
export function cannedResponse(spec: FaultSpec, now: number): CannedResponse {
  switch (spec.kind) {
    case 'status': {
      let body: string;
      let type = JSON_TYPE;
      const headers: Record<string, string> = {};
      if (spec.status === 429) {
        body = binanceError(-1003, 'Too many requests; current limit of IP(127.0.0.1) is 6000 requests per minute. Please use the websocket for live updates to avoid polling the API.').body();
        headers['Retry-After'] = '60';
      } else if (spec.status === 418) {
        body = binanceError(-1003, `Way too much request weight used; IP banned until ${now + 120_000}. Please use WebSocket Streams for live updates to avoid bans.`).body();
        headers['Retry-After'] = '120';
      } else {
        // 5xx and anything else: what a gateway/CDN in front of the API sends, not JSON
        body = gatewayPage(spec.status);
        type = HTML_TYPE;
      }
      if (spec.body !== undefined) {
        body = spec.body;
        type = /^\s*[[{]/.test(body) ? JSON_TYPE : HTML_TYPE;
      }
      return { status: spec.status, body, headers: { 'Content-Type': type, ...headers, ...spec.headers } };
    }
    case 'exchangeError': {
      const e = binanceError(spec.code, spec.msg, spec.httpStatus);
      return { status: e.httpStatus, body: e.body(), headers: { 'Content-Type': JSON_TYPE } };
    }
    case 'garbage':
      return {
        status: spec.status ?? 200,
        body: spec.body ?? '<<<this is not json>>> \u0000\u00ff upstream garbled',
        headers: { 'Content-Type': JSON_TYPE },
      };
    default:
      throw new Error(`fake-exchange: ${spec.kind} has no canned response`);
  }
}
