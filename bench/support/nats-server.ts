/**
 * A `nats-server` with JetStream for the cluster scenario and the cluster soak: its own child
 * process on a free 127.0.0.1 port (the OS picks it; another is tried if it is taken in between),
 * its store in a temp dir removed on stop, ready when it logs "Server is ready".
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NATS_SERVER = '/usr/sbin/nats-server';

export interface NatsServer {
  /** nats://127.0.0.1:<port> */
  url: string;
  pid: number;
  /** SIGTERM (SIGKILL after 5 s), then removes the store. */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts nats-server -js on a free loopback port; resolves once it is ready. */
export async function startNatsServer(timeoutMs = 10_000): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-actors-bench-nats-'));
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    let output = '';
    const child = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    // 'error': it could not be spawned at all (then there is no 'exit').
    const exited = new Promise<void>((r) => {
      child.once('exit', () => r());
      child.once('error', (err) => {
        output += err.message;
        r();
      });
    });
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      child.stderr!.setEncoding('utf8').on('data', (d: string) => {
        output = (output + d).slice(-4000);
        if (output.includes('Server is ready')) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (ready) {
      child.stderr!.resume();
      return {
        url: `nats://127.0.0.1:${port}`,
        pid: child.pid!,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGTERM');
            const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
            await exited;
            clearTimeout(t);
          }
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    child.kill('SIGKILL');
    await exited;
    if (!output.includes('address already in use') || attempt >= 5) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`nats-server did not start within ${timeoutMs} ms: ${output.slice(-1000)}`);
    }
  }
}
