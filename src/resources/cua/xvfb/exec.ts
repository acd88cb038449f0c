/**
 * Runs short-lived helper commands (xdotool) with an argument array — never through a shell — and
 * a hard timeout. A runner remembers its live children so that close() can end them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { ComputerError } from '../computer.js';

export interface CommandResult {
  stdout: string;
  stderr: string;
}

const OUTPUT_LIMIT = 64 * 1024;

export class CommandRunner {
  private readonly running = new Set<ChildProcess>();
  private closed = false;

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  /**
   * Resolves with the command's output when it exits 0. Rejects with ComputerError TIMEOUT when it
   * runs past `timeoutMs` (it is SIGKILLed), BACKEND_ERROR when it cannot start or exits non-zero.
   */
  run(command: string, args: readonly string[], timeoutMs: number): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new ComputerError('COMPUTER_DEAD', `not running ${command}: the computer is closed`));
        return;
      }
      let child: ChildProcess;
      try {
        child = spawn(command, args, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (err) {
        reject(new ComputerError('BACKEND_ERROR', `cannot run ${command}: ${(err as Error).message}`));
        return;
      }
      this.running.add(child);
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      child.stdout?.setEncoding('utf8').on('data', (d: string) => {
        if (stdout.length < OUTPUT_LIMIT) stdout += d;
      });
      child.stderr?.setEncoding('utf8').on('data', (d: string) => {
        if (stderr.length < OUTPUT_LIMIT) stderr += d;
      });
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        this.running.delete(child);
        const hint = err.code === 'ENOENT' ? ' (not installed? run scripts/install-system-deps.sh)' : '';
        reject(new ComputerError('BACKEND_ERROR', `cannot run ${command}: ${err.message}${hint}`));
      });
      child.on('close', (code, sig) => {
        clearTimeout(timer);
        this.running.delete(child);
        if (timedOut) {
          reject(new ComputerError('TIMEOUT', `${command} ${args[0] ?? ''} did not finish within ${timeoutMs} ms`));
        } else if (code === 0) {
          resolve({ stdout, stderr });
        } else {
          const why = code === null ? `was killed by ${sig}` : `exited with ${code}`;
          reject(new ComputerError('BACKEND_ERROR', `${command} ${args[0] ?? ''} ${why}: ${stderr.trim().slice(0, 500)}`));
        }
      });
    });
  }

  /** Refuses new commands from now on, SIGKILLs those still running and waits until each has exited. */
  async close(): Promise<void> {
    this.closed = true;
    const children = [...this.running];
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('close', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
  }
}
