/**
 * Main-thread side of the `ccxt` toolset: the exchange clients' resource kind, the accounts, and
 * the `ccxt.info` runtime call. Never imports ccxt (only exchange-host threads do).
 *
 * One resource kind, `ccxt`, on a fixed set of shared exchange-host threads (`ccxt.hosts`,
 * supervised, permanent). Its spec says which role a client plays (spec.ts):
 *
 * - `public` (exchange, market type, sandbox): pool key = the venue, so every session's lease
 *   lands on the one shared instance (shared pool);
 * - `account` (account name + venue): pool key = session + account, so no other session can ever
 *   be handed that instance; credentials are added here (`secretsFor`) after checking that the
 *   calling session may use the account.
 *
 * Both roles of one venue are placed on the same host (hash of the venue), which is what lets a
 * credentialed client take its markets from the public client instead of loading them again.
 * One kind rather than two because a ResourceKind owns its host threads: two kinds could not
 * share them (see the report for the kind.ts change that would allow it).
 *
 * Limits (one pool): `maxClients` instances of both roles together — at the limit, the least
 * recently used idle one is closed to make room, else the lease waits — `maxLeases` leases, a
 * wait of `leaseWaitMs` before LEASE_TIMEOUT, and `idleTtlMs` before an unleased client closes.
 */
import { ResourceKind } from '../../../main/resources/kind.js';
import type { IntegrationContext } from '../../../main/integration-context.js';
import { AccountRegistry } from './accounts.js';
import { ccxtError } from '../shared/errors.js';
import type { CcxtConfig } from '../shared/config.js';
import { CCXT_KIND, INFO_CALL, hash32, parseSpec, specLabel, venueKey, type CcxtInfo, type ClientSpec, type FactoryConfig } from '../shared/spec.js';
import { resourceHostNice } from '../../../shared/thread-priority.js';

export const FACTORY_MODULE = new URL('../host/factory.js', import.meta.url).href;

export async function setup(rt: IntegrationContext): Promise<void> {
  const c = (rt.config as { ccxt?: CcxtConfig }).ccxt;
  if (!c) throw new Error('the ccxt toolset needs the ccxt configuration section');
  const accounts = new AccountRegistry({ configured: c.accounts, env: process.env, exchanges: c.exchanges, sessionCredentials: c.sessionCredentials });
  for (const w of accounts.warnings) rt.log.warn({ toolset: 'ccxt' }, w);

  const factoryConfig: FactoryConfig = { exchanges: c.exchanges, timeoutMs: c.timeoutMs, overrides: c.overrides, cache: c.cache };
  const kind = new ResourceKind<ClientSpec>({
    kind: CCXT_KIND,
    factory: FACTORY_MODULE,
    factoryConfig: factoryConfig as unknown as Record<string, unknown>,
    placement: { mode: 'shared', hosts: c.hosts },
    placeOn: (spec, loads) => hash32(venueKey(parseSpec(spec))) % loads.length,
    secretsFor: (spec, owner) => {
      if (spec.role !== 'account' || !owner) return undefined;
      return accounts.secretsFor(owner.key.id, owner.principal, spec);
    },
    pool: {
      maxInstances: c.maxClients,
      maxLeases: c.maxLeases,
      shared: true,
      key: (raw, owner) => {
        const spec = parseSpec(raw);
        if (spec.role === 'public') {
          if (!c.exchanges.includes(spec.exchange)) throw ccxtError('NOT_SUPPORTED', `exchange "${spec.exchange}" is not enabled on this server`);
          return `public ${venueKey(spec)}`;
        }
        if (!owner) throw ccxtError('BAD_REQUEST', 'an account client needs an owning session');
        accounts.check(owner.key.id, owner.principal, spec);
        return `account ${owner.key.id} ${spec.account}`;
      },
      waitTimeoutMs: c.leaseWaitMs,
      idleTtlMs: c.idleTtlMs,
      resetOnRelease: false,
      healthIntervalMs: 0,
    },
    label: (spec) => {
      try {
        return specLabel(parseSpec(spec));
      } catch {
        return 'ccxt client';
      }
    },
    opTimeoutMs: 30_000,
    logLevel: rt.config.logLevel,
    nice: resourceHostNice(rt.config.sessions.actorNice),
    log: rt.log,
    supervisor: rt.resourceSupervisor,
  });
  rt.addResourceKind(kind);
  // Start the exchange hosts now, in the background: each imports ccxt once (~0.5 s), before the
  // first call needs it, instead of making that call wait.
  void kind.startHosts().catch((err: unknown) => rt.log.error({ err: (err as Error).message }, 'exchange hosts could not start'));

  const defaultExchange = c.defaultExchange ?? c.exchanges[0]!;
  rt.registerCall(INFO_CALL, async (caller) => {
    const sid = caller.key.id;
    const principal = caller.principal;
    const info: CcxtInfo = {
      exchanges: c.exchanges,
      defaultExchange,
      accounts: accounts.info(sid, principal),
      timeoutMs: c.timeoutMs,
      leaseWaitMs: c.leaseWaitMs,
    };
    const bindingError = accounts.bindingError(sid);
    if (bindingError) info.bindingError = bindingError;
    return info;
  });

  // Credentials sent by a new session's HTTP client (X-Ccxt-Accounts at initialize) bind to it alone.
  rt.onSession({
    created: (record, headers) => accounts.bindSession(record.id, record.principal, headers),
    // MCP 2026-07-28: every request to a handle carries its client's headers; a header present rebinds.
    request: (record, headers) => accounts.bindSession(record.id, record.principal, headers),
    ended: (record) => accounts.unbindSession(record.id),
  });
  rt.log.info(
    { toolset: 'ccxt', hosts: c.hosts, exchanges: c.exchanges.length, serverAccounts: accounts.serverCount, maxClients: c.maxClients, maxLeases: c.maxLeases },
    'ccxt exchange clients configured',
  );
}
