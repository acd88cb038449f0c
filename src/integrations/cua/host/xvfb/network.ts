/**
 * Network "outbound" for a desktop sandbox: slirp4netns gives its empty network namespace a tap
 * device with user-mode NAT (10.0.2.0/24, DNS forwarder at 10.0.2.3), so programs reach the
 * internet, while `--disable-host-loopback` refuses every connection to the host's loopback (this
 * server, NATS, databases).
 *
 * A root server runs slirp4netns as root: only root can enter a network namespace owned by a user
 * namespace that the sandbox has since left (bwrap --disable-userns nests the sandbox one level
 * deeper). It sandboxes itself (`--enable-sandbox`: a mount namespace of its own, every capability
 * dropped but binding low ports; `--enable-seccomp`). A server running as an ordinary user runs it
 * as that user inside the sandbox's user namespace (such a sandbox keeps nested user namespaces).
 * The exit pipe ends it when we close our end — or when this process dies.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { ComputerError } from '../../shared/computer.js';
import type { Sandbox } from './sandbox.js';

export interface Slirp {
  readonly exited: Promise<void>;
  stop(): Promise<void>;
}

export interface SlirpOptions {
  slirpPath: string;
  timeoutMs: number;
}

export async function attachOutbound(sandbox: Sandbox, o: SlirpOptions): Promise<Slirp> {
  const pid = sandbox.initPid;
  const root = process.getuid?.() === 0;
  const args = [
    '--configure', '--mtu=65520', '--disable-host-loopback', '--enable-sandbox', '--enable-seccomp',
    '--ready-fd=3', '--exit-fd=4',
    ...(root ? [] : [`--userns-path=/proc/${pid}/ns/user`]),
    '--netns-type=path', `/proc/${pid}/ns/net`, 'tap0',
  ];
  const child = spawn(o.slirpPath, args, {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    detached: true,
    env: { PATH: '/usr/bin:/bin' },
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-2000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ComputerError('TIMEOUT', `slirp4netns did not configure the network within ${o.timeoutMs} ms`)), o.timeoutMs);
      child.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const hint = err.code === 'ENOENT' ? ' (not installed? run scripts/install-system-deps.sh)' : '';
        reject(new ComputerError('BACKEND_ERROR', `cannot start slirp4netns: ${err.message}${hint}`));
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new ComputerError('BACKEND_ERROR', `slirp4netns exited during setup: ${stderr.trim().slice(-500)}`));
      });
      (child.stdio[3] as Readable).once('data', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { exited, stop };
}
