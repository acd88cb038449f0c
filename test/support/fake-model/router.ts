/**
 * Test support: one loopback Messages API endpoint in front of many fake models. A request goes
 * to the script named in its first user message (`[script:<name>]` in the task text), so many
 * sessions, each with its own scripted task, can share one configured model URL.
 *
 * For a caller in another process (the benchmark runs it through cli.ts --router), the same
 * server takes `PUT /_scripts/<name>` (a JSON script) and answers `GET /_requests/<name>` with
 * the times (epoch ms) that fake received its requests at.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseScript, type ScriptStep } from './script.js';
import { startFakeModel, type FakeModel } from './server.js';

export interface ModelRouter {
  url: string;
  /** Adds (or replaces) the fake model behind `[script:<name>]`. */
  add(name: string, script: ScriptStep[]): Promise<FakeModel>;
  close(): Promise<void>;
}

export async function startModelRouter(options: { apiKey: string }): Promise<ModelRouter> {
  const fakes = new Map<string, FakeModel>();
  const server: Server = createServer((req, res) => {
    const admin = /^\/_(scripts|requests)\/([\w-]+)$/.exec(req.url ?? '');
    if (admin) {
      handleAdmin(req, res, admin[1] as 'scripts' | 'requests', admin[2] as string);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let name: string | undefined;
      try {
        const first = (JSON.parse(body.toString('utf8')) as { messages: Array<{ content: Array<{ text?: string }> }> }).messages[0]?.content[0]?.text;
        name = /\[script:([\w-]+)\]/.exec(first ?? '')?.[1];
      } catch {
        // not JSON: no route
      }
      const fake = name === undefined ? undefined : fakes.get(name);
      if (!fake) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: `no script ${name}` } }));
        return;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
      const ac = new AbortController();
      res.on('close', () => ac.abort());
      fetch(`${fake.url}${req.url}`, { method: 'POST', headers, body, signal: ac.signal })
        .then(async (r) => {
          const answer = Buffer.from(await r.arrayBuffer());
          const out: Record<string, string> = { 'content-type': r.headers.get('content-type') ?? 'application/json' };
          for (const h of ['retry-after', 'request-id']) if (r.headers.has(h)) out[h] = r.headers.get(h)!;
          res.writeHead(r.status, out).end(answer);
        })
        .catch(() => res.destroy());
    });
  });
  const add = async (name: string, script: ScriptStep[]) => {
    await fakes.get(name)?.close();
    const fake = await startFakeModel({ script, apiKey: options.apiKey });
    fakes.set(name, fake);
    return fake;
  };
  function handleAdmin(req: IncomingMessage, res: ServerResponse, what: 'scripts' | 'requests', name: string): void {
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (what === 'requests' && req.method === 'GET') {
      const fake = fakes.get(name);
      if (!fake) json(404, { error: `no script ${name}` });
      else json(200, { receivedAt: fake.requests.map((q) => q.receivedAt) });
      return;
    }
    if (what !== 'scripts' || req.method !== 'PUT') {
      json(405, { error: 'PUT /_scripts/<name> or GET /_requests/<name>' });
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let script: ScriptStep[];
      try {
        script = parseScript(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        json(400, { error: (err as Error).message });
        return;
      }
      add(name, script).then(
        () => json(200, { name }),
        (err: unknown) => json(500, { error: (err as Error).message }),
      );
    });
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    add,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await Promise.all([...fakes.values()].map((f) => f.close()));
    },
  };
}
