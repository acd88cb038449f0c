/**
 * stdio mode: one session actor behind newline-delimited JSON-RPC on stdin/stdout. stdout carries
 * MCP messages only — every log line goes to stderr. EOF or SIGTERM/SIGINT ends it with exit 0
 * once accepted requests are answered (bounded by the drain timeout).
 */
import type { Readable, Writable } from 'node:stream';
import type { Outbound, SessionSink } from '../sessions/session-actor.js';
import { CodedError, errorResponseJson, rpcError } from '../../shared/errors.js';
import { parseMessage, requestIdOf } from '../protocol/jsonrpc.js';
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

  const onLine = (line: string) => {
    if (line.trim() === '') return;
    if (line.length > maxLine) {
      write(errorResponseJson(null, rpcError('PAYLOAD_TOO_LARGE', `a line is limited to ${maxLine} characters`)));
      return;
    }
    try {
      const msg = parseMessage(line, rt.config.http.maxJsonDepth);
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
