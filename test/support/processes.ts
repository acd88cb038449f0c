/**
 * Test support shared by the helpers that run a real daemon (nats-server, nginx): a free loopback
 * port, and cleanup when the test process exits before a test stopped what it started.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';

/** A port the OS says is free on 127.0.0.1 right now (the caller retries when it is taken before use). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * What still runs when the test process exits: `kill` each process (synchronously), then run
 * each cleanup (temp dirs).
 */
export class ExitCleanup<P> {
  readonly live = new Set<P>();
  readonly cleanups = new Set<() => void>();

  constructor(kill: (proc: P) => void) {
    process.on('exit', () => {
      for (const proc of this.live) kill(proc);
      for (const f of this.cleanups) f();
    });
  }
}

export function alive(proc: ChildProcess): boolean {
  return proc.exitCode === null && proc.signalCode === null;
}

/** A graceful stop: `signal`, then `kill` when the process has not exited after `timeoutMs`. */
export async function stopGracefully(proc: ChildProcess, exited: Promise<unknown>, signal: NodeJS.Signals, kill: (proc: ChildProcess) => void, timeoutMs: number): Promise<void> {
  if (!alive(proc)) return;
  proc.kill(signal);
  const timer = setTimeout(() => kill(proc), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/** The daemon could not bind its port (taken between freePort() and its start). */
export class PortInUse extends Error {}

/**
 * Starts a daemon on a free port, trying another port (up to `attempts`) when the one picked was
 * taken meanwhile; on any other failure `cleanup` runs and the error is thrown.
 */
export async function startOnFreePort<R>(start: (port: number) => Promise<R>, cleanup: () => void, attempts = 5): Promise<{ port: number; running: R }> {
  try {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      try {
        return { port, running: await start(port) };
      } catch (err) {
        if (!(err instanceof PortInUse) || attempt >= attempts) throw err;
      }
    }
  } catch (err) {
    cleanup();
    throw err;
  }
}
