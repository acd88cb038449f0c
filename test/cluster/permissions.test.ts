/**
 * The NATS permissions the README documents for nodes (src/main/cluster/permissions.ts, printed by
 * `mcp-actors cluster-permissions`) are enough for a cluster to work — relaying and taking over
 * included — and they are the boundary: a NATS user without them cannot send a node a request
 * (which carries an authenticated principal) nor read the records.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { startServer, type ServerProcess } from '../support/server.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import { initializeRequest, request, send } from '../support/mcp-http.js';
import { natsServerUser } from '../../src/main/cluster/permissions.js';
import { waitFor } from '../support/wait.js';

const NODE_PASSWORD = 'node-password-0123456789';
const OTHER_PASSWORD = 'other-password-0123456789';

let nats: NatsServerHandle;
const nodes: ServerProcess[] = [];

beforeAll(async () => {
  nats = await startNatsServer({
    config: `authorization { users = [
      ${natsServerUser('perm', 'node', NODE_PASSWORD)},
      { user: "other", password: ${JSON.stringify(OTHER_PASSWORD)}, permissions: { publish: ["other.>"], subscribe: ["other.>", "_INBOX.>"] } }
    ] }`,
  });
  const start = () =>
    startServer({
      toolsets: ['diagnostics'],
      args: ['--cluster', nats.url],
      config: { cluster: { name: 'perm', user: 'node', password: NODE_PASSWORD }, warmPool: { min: 1 }, stateless: { threads: 1 } },
    });
  nodes.push(...(await Promise.all([start(), start()])));
}, 60_000);

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await nats?.stop();
});

describe('NATS permissions of a node', () => {
  it('are enough: a session opened on one node answers through the other, and after its node dies', async () => {
    const [a, b] = nodes as [ServerProcess, ServerProcess];
    const init = await send(a.url, initializeRequest());
    expect(init.status, init.text).toBe(200);
    const session = init.headers.get('mcp-session-id')!;
    const whoami = (n: ServerProcess) => send(n.url, request('tools/call', { name: 'whoami', arguments: {} }), { session });
    const viaB = await whoami(b);
    expect(viaB.status, viaB.text).toBe(200);
    expect(viaB.json.result.structuredContent.executed).toBe(1);
    a.proc.kill('SIGKILL');
    await a.exited;
    const after = await waitFor('the session to answer through B', async () => {
      const r = await whoami(b);
      return r.status === 200 ? r : undefined;
    });
    expect(after.json.result.structuredContent.executed).toBe(2);
    for (const n of nodes) expect(n.stderr.join('\n')).not.toMatch(/Permissions Violation/i);
  });

  it('a node that cannot reach its NATS does not start, and says so without the credentials', async () => {
    const err = (await startServer({ toolsets: ['diagnostics'], args: ['--cluster', 'nats://node:hunter2-secret@127.0.0.1:1'] }).catch((e: Error) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(/cannot connect to NATS at nats:\/\/127\.0\.0\.1:1/);
    expect(err.message).not.toContain('hunter2');
  });

  it('are the boundary: another NATS user can neither reach a node nor read the records', async () => {
    const nc = await connect({ servers: nats.url, user: 'other', pass: OTHER_PASSWORD });
    const errors: string[] = [];
    void (async () => {
      for await (const s of nc.status()) if (s.type === 'error') errors.push(String((s as { error?: Error }).error?.message ?? s.type));
    })();
    try {
      nc.publish('perm.node.x.http', '{"m":"POST","p":"/mcp","h":{}}');
      await expect(nc.request('$JS.API.STREAM.INFO.KV_perm-records', undefined, { timeout: 1_000 })).rejects.toThrow();
      await waitFor('the server to refuse the publish', () => errors.some((e) => /permissions violation/i.test(e)));
    } finally {
      await nc.close();
    }
  });
});
