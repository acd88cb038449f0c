/**
 * Thread priorities through the real server (Linux: read from /proc): the edge — the main thread,
 * which routes every session's traffic — keeps its priority, session actor threads run at
 * `sessions.actorNice`, and resource host threads and the processes they spawn (here: a
 * computer's Xvfb) halfway between. With `actorNice: 0` nothing is lowered.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT, startServer, type ServerProcess } from '../support/server.js';
import { callTool, openSession, structured } from '../support/mcp-http.js';
import { waitFor, xvfbOf } from '../support/cua.js';

/** Field 19 of /proc/…/stat (after the parenthesised command name, which may contain spaces). */
function niceOf(statPath: string): number {
  const stat = readFileSync(statPath, 'latin1');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

function threadNices(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(Number(tid), niceOf(`/proc/${pid}/task/${tid}/stat`));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** The test runner's own priority, which the server process inherits. */
const BASE = getPriority();

async function serverWith(actorNice: number): Promise<ServerProcess> {
  return startServer({
    args: ['--toolsets', 'diagnostics,cua'],
    timeoutMs: 30_000,
    config: {
      sessions: { actorNice, hibernateAfterMs: 0 },
      warmPool: { min: 1, max: 4 },
      cua: { maxComputers: 1, minComputers: 1 },
    },
  });
}

describe.runIf(process.platform === 'linux')('thread priorities', () => {
  it('session threads run at actorNice, resource hosts and their Xvfb halfway; the edge keeps its priority', async () => {
    const server = await serverWith(19);
    try {
      const pid = server.proc.pid!;
      const session = await openSession(server.url);
      expect(structured(await callTool(server.url, session, 'echo', { text: 'nice' })).text).toBe('nice');
      const xvfb = await waitFor('the warm computer to start its Xvfb', () => xvfbOf(pid)[0]?.pid, 20_000);
      const nices = [...threadNices(pid).entries()];
      expect(nices.find(([tid]) => tid === pid)?.[1], 'main thread (the edge)').toBe(BASE);
      expect(nices.filter(([, n]) => n === 19).length, 'session threads').toBeGreaterThanOrEqual(1);
      expect(nices.filter(([, n]) => n === 10).length, 'the computer host thread').toBeGreaterThanOrEqual(1);
      expect(niceOf(`/proc/${xvfb}/stat`), 'Xvfb spawned by the computer host thread').toBe(10);
      // A computer call still works at that priority.
      const size = structured(await callTool(server.url, session, 'computer_screen_size'));
      expect(size.width).toBeGreaterThan(0);
    } finally {
      await server.stop();
    }
  });

  it('actorNice 0 lowers nothing', async () => {
    const server = await serverWith(0);
    try {
      const pid = server.proc.pid!;
      const session = await openSession(server.url);
      expect(structured(await callTool(server.url, session, 'echo', { text: 'flat' })).text).toBe('flat');
      const xvfb = await waitFor('the warm computer to start its Xvfb', () => xvfbOf(pid)[0]?.pid, 20_000);
      expect([...threadNices(pid).values()].every((n) => n === BASE)).toBe(true);
      expect(niceOf(`/proc/${xvfb}/stat`)).toBe(BASE);
    } finally {
      await server.stop();
    }
  });

  it('never raises a priority: a thread already below the asked value keeps its own', async () => {
    const module = pathToFileURL(join(ROOT, 'dist', 'src', 'shared', 'thread-priority.js')).href;
    // A fresh thread (its own nice value) lowers itself to 15, then asks for 10 and then for 19.
    const code = `
      const { parentPort } = require('node:worker_threads');
      const os = require('node:os');
      import(${JSON.stringify(module)}).then(({ lowerThreadPriority }) => {
        os.setPriority(15);
        const asked10 = lowerThreadPriority(10);
        const after10 = os.getPriority();
        const asked19 = lowerThreadPriority(19);
        parentPort.postMessage({ asked10, after10, asked19, after19: os.getPriority() });
      });`;
    const worker = new Worker(code, { eval: true });
    const result = await new Promise<Record<string, unknown>>((res, rej) => {
      worker.once('message', res);
      worker.once('error', rej);
    });
    await worker.terminate();
    expect(result).toEqual({ asked10: undefined, after10: 15, asked19: undefined, after19: 19 });
    expect(getPriority(), 'the test thread itself is untouched').toBe(BASE);
  });
});
