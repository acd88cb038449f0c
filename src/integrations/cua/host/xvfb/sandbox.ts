/**
 * One bubblewrap sandbox: a process tree in its own user, mount, PID, IPC, UTS and cgroup
 * namespaces (and network namespace unless the network is "host"), running as an unprivileged
 * user with no capabilities.
 *
 * Invariants:
 * - Nothing of the host's filesystem is visible but what the spec binds (read-only unless said
 *   otherwise); files the sandbox needs (passwd, an X cookie) are fed through pipes, never from
 *   host paths the sandbox could name.
 * - A server running as root drops to `uid`/`gid` *before* bwrap runs, so the user namespace maps
 *   the sandbox's user onto that unprivileged host user — not onto root, which is what
 *   `bwrap --uid` alone does when bwrap runs as root.
 * - The spec's program is the sandbox's PID 1 (`--as-pid-1`; a program that starts others should be
 *   an init such as tini, which reaps orphans). Killing it makes the kernel kill every process in
 *   the namespace, whatever a process did to its session, environment or parent; `kill()` does
 *   that. (bwrap's own PID-1 reaper is not used: when it exits, bwrap leaves it to the host's init
 *   to reap, and not every host's init reaps.)
 * - `--die-with-parent`: the sandbox dies with the thread that started it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { ComputerError } from '../../shared/computer.js';
import type { Cgroup } from './limits.js';

export type SandboxNetwork = 'none' | 'outbound' | 'host';

export interface SandboxBind {
  src: string;
  dest: string;
  /** Read-only unless true. */
  writable?: boolean;
  /** Skip silently when `src` does not exist. */
  optional?: boolean;
}

export interface SandboxFile {
  dest: string;
  data: string | Buffer;
}

export interface SandboxSpec {
  /** For messages: "display", "desktop". */
  name: string;
  /** The program and arguments to run inside. */
  command: string[];
  env: Record<string, string>;
  /** Host user and group to run as; only applied when the server runs as root. */
  uid?: number;
  gid?: number;
  hostname: string;
  /** "host" shares the host's network namespace; the others get an empty one (outbound attaches slirp4netns later). */
  network: SandboxNetwork;
  /** Let programs create user namespaces of their own (default: refused, one less kernel attack surface). */
  nestedUserns?: boolean;
  binds: SandboxBind[];
  /** Read-only files made from data (passwd, group, the X cookie…). */
  files: SandboxFile[];
  /** Private tmpfs mounts with a size cap. */
  tmpfs: Array<{ dest: string; bytes: number }>;
  /** Directories to create (inside a tmpfs) before the program starts. */
  dirs: string[];
  chdir: string;
  /** Extra pipes handed to the program as fds 3, 4, … (readable on our side). */
  extraFds: number;
  /** Pipe to the program's stdin. */
  stdin: boolean;
  cgroup?: Cgroup;
  bwrapPath: string;
  startTimeoutMs: number;
}

/** Inside the sandbox every program runs as this user. */
export const INSIDE_UID = 1000;
export const INSIDE_GID = 1000;

const STDERR_TAIL = 4096;

/** The system directories of the host that a sandbox sees read-only. */
function systemBinds(): string[] {
  const out: string[] = ['--ro-bind', '/usr', '/usr'];
  // Merged-/usr systems have /bin → usr/bin and so on; others have real directories.
  for (const dir of ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']) {
    let target: string | undefined;
    try {
      target = readlinkSync(`/${dir}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EINVAL') out.push('--ro-bind', `/${dir}`, `/${dir}`);
      continue; // ENOENT: not on this system
    }
    out.push('--symlink', target, `/${dir}`);
  }
  return out;
}

/** The bwrap arguments for a spec; files are read from fds `fileFd0`, `fileFd0 + 1`, … */
export function bwrapArgs(spec: SandboxSpec, infoFd: number, fileFd0: number): string[] {
  const args = [
    '--unshare-user', '--unshare-ipc', '--unshare-pid', '--unshare-uts', '--unshare-cgroup-try',
    ...(spec.network === 'host' ? [] : ['--unshare-net']),
    '--die-with-parent', '--new-session', '--as-pid-1', ...(spec.nestedUserns ? [] : ['--disable-userns']),
    '--uid', String(INSIDE_UID), '--gid', String(INSIDE_GID), '--hostname', spec.hostname,
    ...systemBinds(),
    '--proc', '/proc', '--dev', '/dev',
  ];
  for (const t of spec.tmpfs) args.push('--size', String(t.bytes), '--tmpfs', t.dest);
  for (const d of spec.dirs) args.push('--dir', d);
  for (const b of spec.binds) {
    const kind = b.writable ? (b.optional ? '--bind-try' : '--bind') : b.optional ? '--ro-bind-try' : '--ro-bind';
    args.push(kind, b.src, b.dest);
  }
  spec.files.forEach((f, i) => args.push('--perms', '0444', '--ro-bind-data', String(fileFd0 + i), f.dest));
  args.push('--chdir', spec.chdir, '--info-fd', String(infoFd), '--', ...spec.command);
  return args;
}

interface SandboxInfo {
  'child-pid': number;
  'pid-namespace'?: number;
  'net-namespace'?: number;
}

export interface SandboxExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class Sandbox {
  readonly exited: Promise<SandboxExit>;
  private exitInfo: SandboxExit | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly name: string,
    /** Host pid of the sandbox's PID 1 (the spec's program). */
    readonly initPid: number,
    /** Inode of its PID namespace (what /proc/<pid>/ns/pid names). */
    readonly pidNamespace: number,
    /** Our ends of the extra pipes (fd 3, 4, … inside). */
    readonly fds: Readable[],
    private readonly stderr: () => string,
  ) {
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        this.exitInfo ??= { code, signal };
        resolve(this.exitInfo);
      };
      if (child.exitCode !== null || child.signalCode !== null) done(child.exitCode, child.signalCode);
      else child.once('exit', done);
    });
  }

  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  get stdin(): Writable | null {
    return this.child.stdin;
  }

  /** The last few KB bwrap and the program wrote to stderr. */
  stderrTail(): string {
    return this.stderr().trim();
  }

  /** Starts the sandbox; resolves once bwrap has set it up and reported its PID 1. */
  static async start(spec: SandboxSpec): Promise<Sandbox> {
    const infoFd = 3 + spec.extraFds;
    const fileFd0 = infoFd + 1;
    const bwrap = [spec.bwrapPath, ...bwrapArgs(spec, infoFd, fileFd0)];
    const root = process.getuid?.() === 0;
    const dropTo = root && spec.uid !== undefined ? { uid: spec.uid, gid: spec.gid ?? spec.uid } : undefined;
    let argv = bwrap;
    if (root && spec.cgroup) {
      // A root shell joins the cgroup first, then becomes the unprivileged user and execs bwrap:
      // every process of the sandbox is born inside the cgroup.
      const procs = spec.cgroup.procsFiles();
      const drop = dropTo ? ['setpriv', `--reuid=${dropTo.uid}`, `--regid=${dropTo.gid}`, '--clear-groups', '--inh-caps=-all', '--'] : [];
      argv = ['/bin/sh', '-c', 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n - 1)); done; exec "$@"', 'sandbox', String(procs.length), ...procs, ...drop, ...bwrap];
    }
    const stdio: Array<'pipe' | 'ignore'> = [spec.stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'];
    for (let i = 0; i < spec.extraFds + 1 + spec.files.length; i++) stdio.push('pipe');
    let child: ChildProcess;
    try {
      child = spawn(argv[0] as string, argv.slice(1), {
        env: spec.env,
        cwd: '/',
        detached: true,
        stdio,
        ...(dropTo && !(root && spec.cgroup) ? dropTo : {}),
      });
    } catch (err) {
      throw new ComputerError('BACKEND_ERROR', `cannot start the ${spec.name} sandbox: ${(err as Error).message}`);
    }
    child.stdin?.on('error', () => {}); // EPIPE once the program is gone: reported through `exited`
    spec.files.forEach((f, i) => {
      const w = child.stdio[fileFd0 + i] as Writable;
      w.on('error', () => {});
      w.end(f.data);
    });
    const fds = Array.from({ length: spec.extraFds }, (_, i) => child.stdio[3 + i] as Readable);
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-STDERR_TAIL);
    });
    try {
      const info = await new Promise<SandboxInfo>((resolve, reject) => {
        let text = '';
        const timer = setTimeout(
          () => reject(new ComputerError('TIMEOUT', `the ${spec.name} sandbox did not start within ${spec.startTimeoutMs} ms`)),
          spec.startTimeoutMs,
        );
        child.once('error', (err: NodeJS.ErrnoException) => {
          clearTimeout(timer);
          const hint = err.code === 'ENOENT' ? ' (bubblewrap not installed? run scripts/install-system-deps.sh)' : '';
          reject(new ComputerError('BACKEND_ERROR', `cannot start the ${spec.name} sandbox: ${err.message}${hint}`));
        });
        child.once('exit', (code, sig) => {
          clearTimeout(timer);
          reject(new ComputerError('BACKEND_ERROR', `the ${spec.name} sandbox exited during setup (code ${code}, signal ${sig}): ${stderr.trim().slice(-800)}`));
        });
        const info = child.stdio[infoFd] as Readable;
        info.setEncoding('utf8');
        info.on('data', (d: string) => {
          text += d;
          if (!text.trimEnd().endsWith('}')) return;
          try {
            const parsed = JSON.parse(text) as SandboxInfo;
            clearTimeout(timer);
            resolve(parsed);
          } catch {
            // not complete yet
          }
        });
      });
      return new Sandbox(child, spec.name, info['child-pid'], info['pid-namespace'] ?? pidNamespaceOf(info['child-pid']) ?? 0, fds, () => stderr);
    } catch (err) {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await gone;
      }
      throw err;
    }
  }

  /** Host pids of every process in the sandbox's PID namespace (its PID 1 included). */
  pids(): number[] {
    return this.pidNamespace ? pidsInNamespace(this.pidNamespace) : [];
  }

  /**
   * Kills every process of the sandbox (its PID 1 first: the kernel then kills the rest of the
   * namespace) and resolves once bwrap has exited.
   */
  async kill(): Promise<SandboxExit> {
    if (this.alive) {
      signal(this.initPid, 'SIGKILL');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
      await this.exited;
      clearTimeout(timer);
    }
    return this.exitInfo as SandboxExit;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function pidNamespaceOf(pid: number): number | undefined {
  try {
    const m = /\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/pid`));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Every host pid whose PID namespace is `ns`. */
export function pidsInNamespace(ns: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (Number.isInteger(pid) && pid > 0 && pidNamespaceOf(pid) === ns) out.push(pid);
  }
  return out;
}
