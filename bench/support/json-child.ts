/**
 * A helper program as a child process (the loopback fakes of test/support: exchange, model API),
 * so it competes with neither server's event loop nor the load generator's, and the benchmark
 * never imports test code: it starts the compiled CLI and reads the one JSON line it prints.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface JsonChild<T> {
  /** The first line the program printed, parsed. */
  info: T;
  stop(): Promise<void>;
}

export async function startJsonChild<T>(script: string, args: string[], cwd: string, timeoutMs = 15_000): Promise<JsonChild<T>> {
  const child: ChildProcess = spawn(process.execPath, [script, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
  const info = await new Promise<T>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`${script} did not start within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (c: string) => {
      buf += c;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf.slice(0, nl)) as T);
      } catch (err) {
        reject(err as Error);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${script} exited before it listened: ${stderr}`));
    });
  });
  child.stdout!.resume();
  return {
    info,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    },
  };
}
