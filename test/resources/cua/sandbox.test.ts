/**
 * Computers are sandboxes, not the host — proved through the real server, with only what a model
 * can do: MCP tool calls that open a terminal on a leased computer and type commands into it. The
 * commands write what they saw into files in the computer's own home, which the test reads from
 * the host side; the host side also checks the computer's processes in /proc.
 *
 * The server runs as root here, with secrets in its environment and in a 0600 config file: none
 * of it may be reachable from a computer.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callTool, openSession, send, structured, type RawResponse } from '../../support/mcp-http.js';
import { ROOT, startServer, type ServerProcess } from '../../support/server.js';
import { computerOf, homeFile, waitFor, type ComputerProcesses } from '../../support/cua.js';
import { createXvfbComputer } from '../../../src/integrations/cua/host/xvfb/index.js';

const SECRETS = {
  BINANCE_API_KEY: 'binance-key-in-env-0123456789',
  BINANCE_SECRET: 'binance-secret-in-env-0123456789',
  MCP_ACTORS_ADMIN_TOKEN: 'admin-token-in-env-0123456789',
  ANTHROPIC_API_KEY: 'sk-ant-in-env-0123456789',
};
const FILE_SECRET = 'exchange-secret-in-config-file-0123456789';

function ok(r: RawResponse): RawResponse {
  expect(r.status).toBe(200);
  if (r.json?.error || r.json?.result?.isError) throw new Error(`call failed: ${JSON.stringify(r.json).slice(0, 500)}`);
  return r;
}

const status = (pid: number, field: string) => new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1];
const comm = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
  } catch {
    return undefined; // a short-lived process that is gone already
  }
};

describe('computers are sandboxes (through the real server, network "none")', () => {
  let server: ServerProcess;
  let session: string;
  let mine: ComputerProcesses;
  let other: ComputerProcesses;
  let configFile: string;

  /** Types a command line into the session's terminal and waits for the file it writes (in the computer's home). */
  async function run(line: string, file: string): Promise<string> {
    ok(await callTool(server.url, session, 'computer_type', { text: `${line}; echo END >> ~/${file}\n` }));
    const text = await waitFor(`~/${file}`, () => homeFile(mine, file)?.includes('END\n') && homeFile(mine, file), 20_000);
    return text.replace(/END\n$/, '');
  }

  beforeAll(async () => {
    server = await startServer({
      args: ['--toolsets', 'cua'],
      env: { ...SECRETS, ANTHROPIC_BASE_URL: '', CUA_API_KEY: '' },
      timeoutMs: 30_000,
      config: {
        warmPool: { min: 1, max: 4 },
        sessions: { hibernateAfterMs: 0 },
        cua: { maxComputers: 2, waitTimeoutMs: 20_000 },
        ccxt: { accounts: [{ name: 'main', exchange: 'binance', apiKey: 'file-key-0123456789', secret: FILE_SECRET }] },
      },
    });
    configFile = readFileSync(`/proc/${server.proc.pid}/cmdline`, 'latin1').split('\0').find((a) => a.endsWith('config.json'))!;
    expect(readFileSync(configFile, 'utf8')).toContain(FILE_SECRET);
    session = await openSession(server.url);
    const id = structured(await callTool(server.url, session, 'computer_screen_size')).computer as string;
    mine = computerOf(server.proc.pid!, id);
    const second = await openSession(server.url);
    const otherId = structured(await callTool(server.url, second, 'computer_screen_size')).computer as string;
    other = computerOf(server.proc.pid!, otherId);
    ok(await callTool(server.url, session, 'computer_key', { keys: 'ctrl+alt+t' }));
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('the terminal runs as an unprivileged user without capabilities; none of the server is reachable', async () => {
    const pid = server.proc.pid!;
    const out = await run(
      [
        'id -u > ~/probe.txt',
        'env | grep -c -e SECRET -e TOKEN -e API_KEY >> ~/probe.txt',
        `cat /proc/${pid}/environ >> ~/probe.txt 2>&1`,
        `cat /proc/${pid}/cmdline >> ~/probe.txt 2>&1`,
        `cat ${configFile} >> ~/probe.txt 2>&1`,
        `ls ${ROOT} >> ~/probe.txt 2>&1`,
        'ls /root >> ~/probe.txt 2>&1',
        'grep -rls -e binance-secret -e exchange-secret /etc /tmp /home /run >> ~/probe.txt 2>/dev/null',
        'ls /proc | grep -c "^[0-9]" >> ~/probe.txt',
      ].join('; '),
      'probe.txt',
    );
    const lines = out.trim().split('\n');
    expect(lines[0]).toBe('1000');
    expect(lines[1]).toBe('0'); // no secret-looking variable in its environment
    expect(out).toContain(`cat: /proc/${pid}/environ: No such file or directory`);
    expect(out).toContain(`cat: /proc/${pid}/cmdline: No such file or directory`);
    expect(out).toContain(`cat: ${configFile}: No such file or directory`);
    expect(out).toContain(`ls: cannot access '${ROOT}': No such file or directory`);
    expect(out).toContain("ls: cannot access '/root': No such file or directory");
    for (const secret of [...Object.values(SECRETS), FILE_SECRET]) expect(out).not.toContain(secret);
    // Its /proc shows only its own processes (tini, the launcher, xterm, bash and the pipeline).
    expect(Number(lines.at(-1))).toBeLessThan(12);

    // From the host side: every process of the computer (X server included) is unprivileged.
    const procs = [mine.xvfbPid, ...readFileSync(`/proc/${mine.desktopPid}/task/${mine.desktopPid}/children`, 'latin1').trim().split(' ').map(Number)];
    for (const p of [...procs, mine.desktopPid]) {
      expect(status(p, 'Uid')?.split(/\s+/)[0], `uid of ${comm(p)}`).not.toBe('0');
      expect(status(p, 'CapEff'), `capabilities of ${comm(p)}`).toBe('0000000000000000');
    }
  });

  it("cannot open another session's display", async () => {
    expect(other.display).not.toBe(mine.display);
    const out = await run(`ls /tmp/.X11-unix > ~/x.txt; xwininfo -root -display ${other.display} >> ~/x.txt 2>&1; echo "exit $?" >> ~/x.txt`, 'x.txt');
    expect(out.split('\n')[0]).toBe(`X${mine.display.slice(1)}`); // only its own socket is there
    expect(out).toMatch(/unable to open display/);
    expect(out).toContain('exit 1');
  });

  it('with network "none", a TCP connection to the server\'s own port (or any host loopback service) fails', async () => {
    const port = new URL(server.url).port;
    const listener: Server = createServer((s) => s.end('hello\n'));
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    const extra = (listener.address() as { port: number }).port;
    try {
      const out = await run(
        `(exec 3<>/dev/tcp/127.0.0.1/${port} && echo CONNECTED) > ~/net.txt 2>&1; (exec 3<>/dev/tcp/127.0.0.1/${extra} && echo CONNECTED) >> ~/net.txt 2>&1`,
        'net.txt',
      );
      expect(out).not.toContain('CONNECTED');
      expect(out.match(/Connection refused/g)?.length).toBeGreaterThanOrEqual(2);
    } finally {
      listener.close();
    }
  });

  it('after a reset nothing of the lease is left: a process that left its session and cleared its environment is gone, and so are the files', async () => {
    await run('sleep 1000 & env -i setsid sh -c "sleep 1001 & nohup sleep 1002 >/dev/null 2>&1 &"; echo x > /tmp/left; echo started > ~/bg.txt', 'bg.txt');
    const all = (c: ComputerProcesses) => [c.xvfbPid, c.desktopPid, ...descendantsOf(c.desktopPid)].filter((p) => comm(p) !== undefined);
    // (nohup execs sleep a moment after the shell wrote bg.txt)
    await waitFor('the three sleepers', () => all(mine).filter((p) => comm(p) === 'sleep').length === 3);
    const before = all(mine);
    // The session ends: its computer is reset before anyone else gets it.
    expect((await send(server.url, undefined, { session, method: 'DELETE' })).status).toBe(200);
    await waitFor('every process of the lease to be gone', () => before.every((p) => !existsSync(`/proc/${p}`)), 20_000);
    // The next session gets that computer (the pool has no other free one): a fresh home and /tmp.
    const next = await openSession(server.url);
    const id = structured(await callTool(server.url, next, 'computer_screen_size')).computer as string;
    expect(id).toBe(mine.id);
    const fresh = computerOf(server.proc.pid!, id);
    expect(fresh.desktopPid).not.toBe(mine.desktopPid);
    expect(homeFile(fresh, 'bg.txt')).toBeUndefined();
    expect(existsSync(`/proc/${fresh.desktopPid}/root/tmp/left`)).toBe(false);
  });
});

/** Every descendant of a process (through /proc/<pid>/task/<tid>/children). */
function descendantsOf(pid: number): number[] {
  let kids: number[] = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim().split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return kids.flatMap((k) => [k, ...descendantsOf(k)]);
}

/**
 * The other network settings, on computers run directly. "The internet" is a TCP listener in a
 * network namespace the test makes (reached from the host through a veth pair): a host beyond
 * this machine's loopback, without leaving the machine.
 */
describe('network settings "outbound" and "host"', () => {
  const tag = String(process.pid % 100_000);
  const netns = `mcpa-net-${tag}`;
  const hostIf = `mcpa-h${tag}`;
  const INTERNET = '10.213.77.2';
  let internet: ReturnType<typeof spawn>;
  let loopback: Server;
  let loopbackPort = 0;
  const sh = (cmd: string) => execFileSync('sh', ['-c', cmd], { stdio: 'pipe' });

  beforeAll(async () => {
    sh(`ip netns add ${netns} && ip link add ${hostIf} type veth peer name mcpa-n${tag} && ip link set mcpa-n${tag} netns ${netns}`);
    sh(`ip addr add 10.213.77.1/30 dev ${hostIf} && ip link set ${hostIf} up`);
    sh(`ip netns exec ${netns} sh -c 'ip addr add ${INTERNET}/30 dev mcpa-n${tag} && ip link set mcpa-n${tag} up && ip link set lo up'`);
    internet = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', `require('net').createServer((s) => s.end('from the internet\\n')).listen(8080, '${INTERNET}', () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((r) => internet.stdout!.once('data', r));
    loopback = createServer((s) => s.end('from the host loopback\n'));
    await new Promise<void>((r) => loopback.listen(0, '127.0.0.1', r));
    loopbackPort = (loopback.address() as { port: number }).port;
  });

  afterAll(() => {
    internet?.kill();
    loopback?.close();
    try {
      sh(`ip netns del ${netns}; ip link del ${hostIf} 2>/dev/null; true`);
    } catch {
      // already gone
    }
  });

  const probe = async (network: 'outbound' | 'host') => {
    const c = await createXvfbComputer({ sandbox: { network } });
    try {
      await c.key('ctrl+alt+t');
      await c.type(
        `(exec 3<>/dev/tcp/${INTERNET}/8080 && head -1 <&3) > ~/net.txt 2>&1; (exec 3<>/dev/tcp/127.0.0.1/${loopbackPort} && head -1 <&3) >> ~/net.txt 2>&1; echo END >> ~/net.txt\n`,
      );
      return await waitFor('net.txt', () => homeFile(c, 'net.txt')?.includes('END') && homeFile(c, 'net.txt'), 20_000);
    } finally {
      await c.close();
    }
  };

  it('"outbound": reaches hosts beyond this machine, never the host\'s loopback', async () => {
    const out = await probe('outbound');
    expect(out).toContain('from the internet');
    expect(out).not.toContain('from the host loopback');
    expect(out).toMatch(/127\.0\.0\.1\/\d+: Connection refused/);
  });

  it('"host": the host\'s network, loopback included (for trusted tasks only)', async () => {
    const out = await probe('host');
    expect(out).toContain('from the internet');
    expect(out).toContain('from the host loopback');
  });
});

describe('limits: a computer cannot take the machine down', () => {
  it('caps its processes: a fork bomb stays inside, and the computer is usable again once it ends', async () => {
    const c = await createXvfbComputer({ sandbox: { maxProcesses: 40 } });
    try {
      await c.key('ctrl+alt+t');
      // A program that forks until the kernel says no (each child sleeps 3 s).
      await c.type(`perl -e 'my $n = 0; while (1) { my $p = fork(); if (!defined $p) { print "$n: $!\\n"; exit } if ($p == 0) { sleep 3; exit } $n++ }' > ~/fork.txt\n`);
      const out = await waitFor('fork.txt', () => homeFile(c, 'fork.txt')?.includes('\n') && homeFile(c, 'fork.txt'), 20_000);
      const [forked, why] = out.trim().split(': ');
      expect(why).toBe('Resource temporarily unavailable');
      expect(Number(forked)).toBeGreaterThan(20);
      expect(Number(forked)).toBeLessThan(40); // the cap counts the computer's every process and thread
      expect(c.processes().length).toBeLessThanOrEqual(40);
      await c.health();
      // Once they are gone, the computer works as before.
      await waitFor('the forks to end', () => c.processes().length < 10, 20_000);
      await c.type('echo after > ~/after.txt\n');
      expect(await waitFor('after.txt', () => homeFile(c, 'after.txt'))).toBe('after\n');
    } finally {
      await c.close();
    }
  });

  it('caps its memory: a hog is killed inside the computer, which stays usable', async () => {
    const c = await createXvfbComputer({ sandbox: { memoryMb: 256 } });
    try {
      await c.key('ctrl+alt+t');
      await c.type('head -c 600M /dev/zero | tail > /dev/null; echo "tail: $?" > ~/mem.txt\n');
      expect(await waitFor('mem.txt', () => homeFile(c, 'mem.txt'), 30_000)).toBe('tail: 137\n'); // SIGKILLed at the cap
      await c.health();
    } finally {
      await c.close();
    }
  });
});
