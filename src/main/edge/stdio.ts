/**
 * stdio mode: newline-delimited JSON-RPC on stdin/stdout, both protocol eras on one connection.
 * 2025-era messages go to one session actor (the process is the session); a message whose `_meta`
 * envelope names a protocol version is an MCP 2026-07-28 request, routed like one over HTTP
 * (handles, the stateless pool) and answered on stdout — there is no header layer, so only its
 * envelope is checked. `subscriptions/listen` streams are multiplexed by their request id and
 * ended by `notifications/cancelled`. stdout carries MCP messages only — every log line goes to
 * stderr. EOF or SIGTERM/SIGINT ends it with exit 0 once accepted requests are answered (bounded
 * by the drain timeout).
 */
import type { Readable, Writable } from 'node:stream';
import type { Outbound, SessionSink } from '../sessions/session-actor.js';
import { CodedError, errorResponseJson, rpcError } from '../../shared/errors.js';
import { parseMessage, requestIdOf, type ParsedMessage, type ParsedRequest } from '../protocol/jsonrpc.js';
import { isModernVersion } from '../protocol/versions.js';
import { ModernRouter } from '../modern/router.js';
import type { JsonRpcId } from '../../shared/errors.js';
import type { Runtime } from '../runtime.js';

class StdioSink implements SessionSink {
  constructor(private readonly write: (line: string) => void) {}
  deliver(out: Outbound): void {
    this.write(out.json);
  }
  closeStream(): void {}
  closeStandaloneStream(): void {}
  ended(): void {}
}

const CLAIM = 'io.modelcontextprotocol/protocolVersion';

/** The 2026-07-28 side of a stdio connection: routed requests, listen streams, cancellations. */
class StdioModern {
  private readonly router: ModernRouter;
  /** Requests in flight by client id (their runtime id). */
  private readonly inflight = new Map<JsonRpcId, JsonRpcId>();
  /** Open listen streams by the listen request's id. */
  private readonly listens = new Map<JsonRpcId, () => void>();

  constructor(
    private readonly rt: Runtime,
    private readonly write: (line: string) => void,
  ) {
    this.router = new ModernRouter({
      pool: rt.stateless,
      log: rt.log,
      handleTools: () => rt.handleTools,
      handleActor: (h, p) => rt.handleActor(h, p),
      createHandle: (opts, sink) => {
        const made = rt.createHandle(sink, { principal: opts.principal, clientIp: 'stdio' });
        return 'actor' in made ? made.actor : made;
      },
    });
  }

  /** Serves `msg` if it is a 2026-07-28 message (its envelope names a revision); false otherwise. */
  takes(msg: ParsedMessage): boolean {
    if (msg.kind === 'response') return false;
    const meta = msg.params?._meta as Record<string, unknown> | undefined;
    const claimed = meta !== undefined && typeof meta === 'object' && CLAIM in meta;
    if (msg.kind === 'notification') {
      if (msg.method !== 'notifications/cancelled') return claimed;
      const target = msg.params?.requestId as JsonRpcId | undefined;
      if (target === undefined) return false;
      const listen = this.listens.get(target);
      if (listen) {
        listen();
        return true;
      }
      const rid = this.inflight.get(target);
      if (rid === undefined) return false;
      this.router.cancel(rid, typeof msg.params?.reason === 'string' ? msg.params.reason : 'cancelled by the client');
      return true;
    }
    if (!claimed) return false;
    if (msg.method === 'initialize' && !(typeof meta[CLAIM] === 'string' && isModernVersion(meta[CLAIM]))) return false;
    if (this.inflight.has(msg.id) || this.listens.has(msg.id)) {
      this.write(errorResponseJson(msg.id, rpcError('DUPLICATE_REQUEST_ID')));
      return true;
    }
    if (msg.method === 'subscriptions/listen') {
      void this.listen(msg);
      return true;
    }
    const rid = ModernRouter.nextId();
    this.inflight.set(msg.id, rid);
    const routed: ParsedRequest = { ...msg, id: rid, clientId: msg.id };
    const refused = this.router.request(routed, { principal: undefined }, (out) => {
      this.write(out.json);
      if (out.kind === 'response') this.inflight.delete(msg.id);
    });
    if (refused) {
      this.inflight.delete(msg.id);
      this.write(errorResponseJson(msg.id, refused));
    }
    return true;
  }

  private async listen(msg: ParsedRequest): Promise<void> {
    if (this.rt.listen.full) {
      this.write(JSON.stringify({ jsonrpc: '2.0', id: msg.id, error: { code: -32603, message: 'Subscription limit reached' } }));
      return;
    }
    try {
      const verdict = await this.rt.stateless.checkListen(msg.raw, undefined);
      if (!verdict.ok) {
        this.write(verdict.json);
        return;
      }
      let open = true;
      const close = this.rt.listen.open(msg.id, verdict.honoured, {
        write: (json) => {
          if (open) this.write(json);
          return open;
        },
        close: () => {
          open = false;
          this.listens.delete(msg.id);
        },
      });
      this.listens.set(msg.id, () => {
        open = false;
        close();
        this.listens.delete(msg.id);
      });
    } catch (err) {
      this.write(errorResponseJson(msg.id, err instanceof CodedError ? err : rpcError('INTERNAL')));
    }
  }
}

export interface StdioOptions {
  input?: Readable;
  output?: Writable;
  drainTimeoutMs: number;
  /** Resolves when the process is asked to stop (SIGTERM/SIGINT): input is then over. */
  stop?: Promise<unknown>;
}

/** Serves one session over stdio; resolves when the input ends (or a signal arrives) and everything is answered. */
export async function runStdio(rt: Runtime, opts: StdioOptions): Promise<void> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  const write = (line: string) => {
    output.write(line + '\n');
  };
  const { actor } = rt.createSession(() => new StdioSink(write), { clientIp: 'stdio' }, 'stdio');
  const maxLine = rt.config.http.maxBodyBytes;
  const modern = new StdioModern(rt, write);

  const onLine = (line: string) => {
    if (line.trim() === '') return;
    if (line.length > maxLine) {
      write(errorResponseJson(null, rpcError('PAYLOAD_TOO_LARGE', `a line is limited to ${maxLine} characters`)));
      return;
    }
    try {
      const msg = parseMessage(line, rt.config.http.maxJsonDepth);
      if (modern.takes(msg)) return;
      if (msg.kind === 'request' && actor.hasInflight(msg.id)) {
        write(errorResponseJson(msg.id, rpcError('DUPLICATE_REQUEST_ID')));
        return;
      }
      actor.submit(msg);
    } catch (err) {
      if (err instanceof CodedError) write(errorResponseJson(requestIdOf(err), err));
      else throw err;
    }
  };

  await new Promise<void>((resolve) => {
    let buffered = '';
    input.setEncoding?.('utf8');
    input.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).replace(/\r$/, '');
        buffered = buffered.slice(nl + 1);
        onLine(line);
      }
      if (buffered.length > maxLine) {
        buffered = '';
        write(errorResponseJson(null, rpcError('PAYLOAD_TOO_LARGE', `a line is limited to ${maxLine} characters`)));
      }
    });
    input.once('end', () => {
      if (buffered.trim()) onLine(buffered);
      resolve();
    });
    void opts.stop?.then(() => resolve());
  });

  // Input is over: answer what was accepted, then stop.
  await rt.drain(opts.drainTimeoutMs);
  await rt.close();
  await new Promise<void>((resolve) => output.write('', () => resolve()));
}
