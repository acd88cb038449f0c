/**
 * The cluster tests' harness works: a real nats-server with JetStream (KV put/get, compare-and-set
 * create, data kept across restart() and across kill() + restart(), extra config such as an
 * authorization block), and a real nginx balancing round robin over two upstreams without
 * retrying a failed request on the other one.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import { startNginx, type NginxHandle } from '../support/nginx.js';

describe('nats-server', () => {
  let nats: NatsServerHandle | undefined;
  let nc: NatsConnection | undefined;
  afterEach(async () => {
    await nc?.close();
    nc = undefined;
    await nats?.stop();
    nats = undefined;
  });

  it('serves JetStream KV with compare-and-set, and keeps it across restart() and kill() + restart()', async () => {
    nats = await startNatsServer();
    expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
    nc = await connect({ servers: nats.url });
    const kv = await new Kvm(nc).create('t');
    await kv.put('a', 'x');
    expect((await kv.get('a'))?.string()).toBe('x');
    // create() is compare-and-set: only for a key that does not exist yet.
    await expect(kv.create('a', 'y')).rejects.toThrow();
    expect((await kv.get('a'))?.string()).toBe('x');
    await nc.close();

    await nats.restart();
    nc = await connect({ servers: nats.url });
    const again = await new Kvm(nc).open('t');
    expect((await again.get('a'))?.string()).toBe('x');
    await again.put('b', 'y');
    await nc.close();

    await nats.kill();
    await expect(connect({ servers: nats.url, reconnect: false })).rejects.toThrow();
    await nats.restart();
    nc = await connect({ servers: nats.url });
    const afterCrash = await new Kvm(nc).open('t');
    expect((await afterCrash.get('a'))?.string()).toBe('x');
    expect((await afterCrash.get('b'))?.string()).toBe('y');
  });

  it('takes extra config (an authorization block) and removes its store on stop', async () => {
    nats = await startNatsServer({ config: 'authorization {\n  user: tester\n  password: s3cret\n}\n' });
    await expect(connect({ servers: nats.url, reconnect: false })).rejects.toThrow();
    nc = await connect({ servers: nats.url, user: 'tester', pass: 's3cret' });
    const kv = await new Kvm(nc).create('auth');
    await kv.put('k', 'v');
    expect((await kv.get('k'))?.string()).toBe('v');
    await nc.close();
    nc = undefined;

    const { storeDir } = nats;
    expect(existsSync(storeDir)).toBe(true);
    await nats.stop();
    nats = undefined;
    expect(existsSync(storeDir)).toBe(false);
  });
});

describe('nginx', () => {
  const upstreams: Server[] = [];
  let nginx: NginxHandle | undefined;
  afterAll(async () => {
    await nginx?.stop();
    await Promise.all(upstreams.map((s) => new Promise<void>((r) => (s.listening ? s.close(() => r()) : r()))));
  });

  /** A node:http server on a free loopback port answering its own name. */
  async function named(name: string): Promise<{ server: Server; address: string }> {
    const server = createServer((_req, res) => res.end(name));
    // Longer than nginx's upstream keepalive_timeout (60 s): nginx closes an idle connection first.
    server.keepAliveTimeout = 65_000;
    upstreams.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { server, address: `127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  async function get(url: string): Promise<{ status: number; body: string }> {
    const res = await fetch(url);
    return { status: res.status, body: await res.text() };
  }

  it('balances round robin, and never retries a failed request on the other node', async () => {
    const a = await named('a');
    const b = await named('b');
    nginx = await startNginx([a.address, b.address]);
    expect(nginx.url).toBe(`http://127.0.0.1:${nginx.port}`);

    const first = await get(`${nginx.url}/`);
    const second = await get(`${nginx.url}/`);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect([first.body, second.body].sort()).toEqual(['a', 'b']);

    // Node a goes away: the request nginx sends it fails (502) instead of being answered by b.
    await new Promise<void>((r) => a.server.close(() => r()));
    const results = [await get(`${nginx.url}/`), await get(`${nginx.url}/`)];
    expect(results.map((r) => r.status).sort()).toEqual([200, 502]);
    expect(results.find((r) => r.status === 200)?.body).toBe('b');
  });
});
