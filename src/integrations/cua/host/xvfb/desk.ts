/**
 * A desk: everything one computer runs, started and ended as a unit.
 *
 *   display sandbox   Xvfb only; no network at all; MIT-MAGIC-COOKIE-1 required; its socket in a
 *                     host directory of its own (mode 0700), which nothing else on the host binds
 *   desktop sandbox   tini (PID 1, reaps orphans), the launcher loop under it and every program it
 *                     starts (terminals and all they run),
 *                     with a private tmpfs home and /tmp; the socket directory bound read-only
 *                     (programs may connect, never replace it); network per setting
 *   slirp4netns       only for network "outbound": user-mode networking into the desktop's
 *                     namespace, with the host's loopback refused
 *   cgroup            both sandboxes' processes, with caps on processes and memory
 *
 * The two sandboxes have their own PID namespaces: programs on the desktop cannot see, signal or
 * trace the X server, whatever user they share. Reset and close kill both namespaces (the kernel
 * kills every process in a PID namespace whose PID 1 dies) — nothing of a lease survives into the
 * next one, and the X server's own state (root window, properties, keymap, access list) starts
 * over too. Our host-side X connection authenticates with the cookie.
 */
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { ComputerError } from '../../shared/computer.js';
import { createCgroup, type Cgroup } from './limits.js';
import { attachOutbound, type Slirp } from './network.js';
import { INSIDE_GID, INSIDE_UID, Sandbox, type SandboxBind, type SandboxNetwork, type SandboxSpec } from './sandbox.js';
import { xauthorityEntry } from './xauth.js';

export interface TerminalCommand {
  command: string;
  args: readonly string[];
}

export interface DeskOptions {
  /** The computer's id, in both sandboxes' environment (MCP_ACTORS_COMPUTER) for diagnostics. */
  label: string;
  width: number;
  height: number;
  network: SandboxNetwork;
  /** Host user and group the sandboxes run as (a root server only; others run as themselves). */
  uid?: number;
  gid?: number;
  maxProcesses: number;
  memoryMb: number;
  /** Size cap of the desktop's home and /tmp, each. */
  tmpfsMb: number;
  /** Extra host paths the desktop sees read-only (same path inside). */
  readOnlyPaths: readonly string[];
  /** Extra environment of desktop programs. */
  env: Record<string, string>;
  terminal: TerminalCommand;
  bwrapPath: string;
  xvfbPath: string;
  /** The desktop sandbox's init (PID 1: reaps orphans, ends with the launcher). */
  tiniPath: string;
  slirpPath: string;
  startTimeoutMs: number;
  /** Called once when limits cannot be applied (why). */
  onLimitsUnavailable?: (reason: string) => void;
}

const HOME = '/home/user';
/** Names the computer a process belongs to (not a secret: tools report the id too). */
export const LABEL_VARIABLE = 'MCP_ACTORS_COMPUTER';
const XAUTHORITY = '/run/computer/xauthority';

/**
 * Host files every sandbox may read, if present: what programs need to run (dynamic linker cache,
 * fonts, terminfo, locales, certificates, time zone). Nothing else of /etc: no passwd, no shadow,
 * no profile scripts an administrator may have put secrets in.
 */
const ETC_ALLOWLIST = [
  '/etc/ld.so.cache', '/etc/ld.so.conf', '/etc/ld.so.conf.d', '/etc/fonts', '/etc/alternatives', '/etc/X11',
  '/etc/terminfo', '/etc/localtime', '/etc/locale.alias', '/etc/ssl', '/etc/ca-certificates', '/etc/mime.types',
  '/etc/inputrc', '/etc/xdg',
];

/**
 * The launcher: a fixed shell loop reading one word per line; "terminal" starts the terminal in a
 * session of its own. No text of ours or the model's ever reaches a shell through it.
 */
const LAUNCHER = [
  'while IFS= read -r request; do',
  '  case "$request" in',
  '    terminal) setsid -f "$@" </dev/null >/dev/null 2>&1 ;;',
  '  esac',
  'done',
].join('\n');

/**
 * Display numbers are random, not 0: with network "host" the desktop shares the host's abstract
 * socket namespace, where Xlib tries "@/tmp/.X11-unix/X<n>" before the socket file — a fixed
 * number would send the desktop's programs to whatever host X server owns that name.
 */
function pickDisplay(): number {
  return randomInt(100, 60_000);
}

function desktopEnv(o: DeskOptions, display: number): Record<string, string> {
  const env: Record<string, string> = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME,
    USER: 'user',
    LOGNAME: 'user',
    SHELL: '/bin/bash',
    LANG: process.env.LANG ?? 'C.UTF-8',
    TERM: 'xterm',
    TMPDIR: '/tmp',
  };
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && (k === 'TZ' || k.startsWith('LC_'))) env[k] = v;
  return { ...env, ...o.env, DISPLAY: `:${display}`, XAUTHORITY, [LABEL_VARIABLE]: o.label };
}

function etcFiles(o: DeskOptions): Array<{ dest: string; data: string | Buffer }> {
  const files = [
    { dest: '/etc/passwd', data: `root:x:0:0:root:/root:/usr/sbin/nologin\nuser:x:${INSIDE_UID}:${INSIDE_GID}:computer:${HOME}:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n` },
    { dest: '/etc/group', data: `root:x:0:\nuser:x:${INSIDE_GID}:\nnogroup:x:65534:\n` },
    { dest: '/etc/hostname', data: 'computer\n' },
    { dest: '/etc/hosts', data: '127.0.0.1 localhost computer\n::1 localhost\n' },
    { dest: '/etc/nsswitch.conf', data: 'passwd: files\ngroup: files\nhosts: files dns\n' },
  ];
  if (o.network === 'outbound') files.push({ dest: '/etc/resolv.conf', data: 'nameserver 10.0.2.3\n' });
  return files;
}

function etcBinds(o: DeskOptions): SandboxBind[] {
  const binds: SandboxBind[] = ETC_ALLOWLIST.map((p) => ({ src: p, dest: p, optional: true }));
  if (o.network === 'host') binds.push({ src: '/etc/resolv.conf', dest: '/etc/resolv.conf', optional: true });
  return binds;
}

/** Reads Xvfb's -displayfd line: the display number, once the server accepts connections. */
function displayReady(fd: Readable, sandbox: Sandbox, display: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new ComputerError('TIMEOUT', `Xvfb did not come up within ${timeoutMs} ms`)), timeoutMs);
    void sandbox.exited.then((e) => {
      clearTimeout(timer);
      reject(new ComputerError('BACKEND_ERROR', `Xvfb exited during startup (code ${e.code}, signal ${e.signal}): ${sandbox.stderrTail().slice(-800)}`));
    });
    fd.setEncoding('latin1');
    fd.on('data', (d: string) => {
      text += d;
      if (!text.includes('\n')) return;
      clearTimeout(timer);
      fd.destroy();
      if (text.trim() === String(display)) resolve();
      else reject(new ComputerError('BACKEND_ERROR', `Xvfb reported display ${JSON.stringify(text.trim())}, expected ${display}`));
    });
  });
}

export class Desk {
  /** Resolves when either sandbox is gone (for whatever reason, stop() included). */
  readonly exited: Promise<string>;
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly dir: string,
    /** The display number inside both sandboxes (DISPLAY=:n). */
    readonly displayNumber: number,
    /** The X cookie our own connection presents. */
    readonly cookie: Buffer,
    readonly display: Sandbox,
    readonly desktop: Sandbox,
    private readonly slirp: Slirp | undefined,
    private readonly cgroup: Cgroup | undefined,
  ) {
    const why = (what: string) => (e: { code: number | null; signal: NodeJS.Signals | null }) => `${what} exited (code ${e.code}, signal ${e.signal})`;
    this.exited = Promise.race([
      display.exited.then(why('the X server')),
      desktop.exited.then(why('the desktop session')),
      ...(slirp ? [slirp.exited.then(() => 'the network helper exited')] : []),
    ]);
  }

  /** Host path of the X server's socket. */
  get socketPath(): string {
    return join(this.dir, 'x11', `X${this.displayNumber}`);
  }

  /** Every host pid of this desk's two sandboxes. */
  pids(): number[] {
    return [...this.display.pids(), ...this.desktop.pids()];
  }

  static async start(o: DeskOptions): Promise<Desk> {
    const root = process.getuid?.() === 0;
    const uid = root ? o.uid : undefined;
    const gid = root ? (o.gid ?? o.uid) : undefined;
    const dir = mkdtempSync(join(tmpdir(), 'mcp-actors-computer-'));
    chmodSync(dir, 0o711);
    const x11 = join(dir, 'x11');
    mkdirSync(x11, { mode: 0o700 });
    if (uid !== undefined) chownSync(x11, uid, gid ?? uid);
    const cookie = randomBytes(16);
    const n = pickDisplay();
    const xauth = xauthorityEntry(cookie, n);
    let cgroup: Cgroup | undefined;
    const made = createCgroup(`computer-${randomUUID()}`, { maxProcesses: o.maxProcesses, memoryBytes: o.memoryMb * 1024 * 1024 });
    if ('cgroup' in made) cgroup = made.cgroup;
    else o.onLimitsUnavailable?.(made.reason);

    const common = {
      uid, gid, hostname: 'computer', cgroup, bwrapPath: o.bwrapPath, startTimeoutMs: o.startTimeoutMs, chdir: HOME,
    } satisfies Partial<SandboxSpec>;
    let display: Sandbox | undefined;
    let desktop: Sandbox | undefined;
    let slirp: Slirp | undefined;
    try {
      display = await Sandbox.start({
        ...common,
        name: 'display',
        command: [
          o.xvfbPath, `:${n}`, '-auth', XAUTHORITY, '-displayfd', '3',
          '-nolisten', 'tcp', '-nolisten', 'local', // no TCP, no abstract socket: only the file socket
          '-noreset', '-br', '-screen', '0', `${o.width}x${o.height}x24`,
        ],
        env: { PATH: '/usr/bin:/bin', HOME, LANG: 'C.UTF-8', [LABEL_VARIABLE]: o.label },
        network: 'none',
        binds: [...etcBinds({ ...o, network: 'none' }), { src: x11, dest: '/tmp/.X11-unix', writable: true }],
        files: [...etcFiles({ ...o, network: 'none' }), { dest: XAUTHORITY, data: xauth }],
        tmpfs: [{ dest: '/tmp', bytes: 64 * 1024 * 1024 }, { dest: '/home', bytes: 1024 * 1024 }],
        dirs: [HOME],
        extraFds: 1,
        stdin: false,
      });
      const ready = displayReady(display.fds[0] as Readable, display, n, o.startTimeoutMs);
      const desktopStarted = Sandbox.start({
        ...common,
        name: 'desktop',
        command: [o.tiniPath, '--', '/bin/sh', '-c', LAUNCHER, 'mcp-actors-launcher', o.terminal.command, ...o.terminal.args],
        env: desktopEnv(o, n),
        network: o.network,
        // slirp4netns run by an ordinary user must enter the sandbox's own user namespace (network.ts).
        nestedUserns: o.network === 'outbound' && !root,
        binds: [
          ...etcBinds(o),
          ...o.readOnlyPaths.map((p) => ({ src: p, dest: p })),
          { src: x11, dest: '/tmp/.X11-unix' },
        ],
        files: [...etcFiles(o), { dest: XAUTHORITY, data: xauth }],
        tmpfs: [{ dest: '/tmp', bytes: o.tmpfsMb * 1024 * 1024 }, { dest: '/home', bytes: o.tmpfsMb * 1024 * 1024 }],
        dirs: [HOME],
        extraFds: 0,
        stdin: true,
      });
      const [, started] = await Promise.allSettled([ready, desktopStarted]);
      if (started.status === 'fulfilled') desktop = started.value;
      await ready;
      if (!desktop) throw (started as PromiseRejectedResult).reason;
      if (o.network === 'outbound') slirp = await attachOutbound(desktop, { slirpPath: o.slirpPath, timeoutMs: o.startTimeoutMs });
      return new Desk(dir, n, cookie, display, desktop, slirp, cgroup);
    } catch (err) {
      await Promise.all([display?.kill(), desktop?.kill(), slirp?.stop()]);
      cgroup?.remove();
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Asks the launcher for a new terminal. Returns false when the desktop is gone. */
  launchTerminal(): boolean {
    const stdin = this.desktop.stdin;
    if (!this.desktop.alive || !stdin || stdin.destroyed) return false;
    stdin.write('terminal\n');
    return true;
  }

  /** Kills both sandboxes (every process in them) and removes the host directory and cgroup. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all([this.desktop.kill(), this.display.kill(), this.slirp?.stop()]);
      this.cgroup?.remove();
      rmSync(this.dir, { recursive: true, force: true });
    })();
    return this.stopping;
  }
}
