/**
 * The ccxt integration's pure parts: error classification (against ccxt's real error classes),
 * the market-data cache, accounts (config, environment, session-bound headers) and the config
 * file rule. The end-to-end behaviour is in ccxt.test.ts.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ccxt, { errors as ccxtErrors } from 'ccxt';
import { describe, expect, it } from 'vitest';
import { parseConfig, readConfigFile } from '../../src/main/config.js';
import { AccountRegistry, envAccounts, parseAccountsHeader } from '../../src/integrations/ccxt/main/accounts.js';
import { TtlCache } from '../../src/integrations/ccxt/host/cache.js';
import { ccxtConfigSchema, configFileProblem } from '../../src/integrations/ccxt/shared/config.js';
import { CCXT_ERROR_TABLE, CcxtError, classChain, classifyError, isCcxtError } from '../../src/integrations/ccxt/shared/errors.js';
import { parseSpec } from '../../src/integrations/ccxt/shared/spec.js';
import { failureOf, writeFailureOf } from '../../src/integrations/ccxt/actor/clients.js';
import { CodedError } from '../../src/shared/errors.js';

const errorClass = (name: string) => (ccxt as unknown as Record<string, new (m: string) => Error>)[name]!;

describe('error classification', () => {
  const reads: Array<[string, string, boolean]> = [
    ['DDoSProtection', 'RATE_LIMITED', true],
    ['RateLimitExceeded', 'RATE_LIMITED', true],
    ['RequestTimeout', 'TIMEOUT', true],
    ['ExchangeNotAvailable', 'EXCHANGE_UNAVAILABLE', true],
    ['OnMaintenance', 'EXCHANGE_UNAVAILABLE', true],
    ['NetworkError', 'EXCHANGE_UNAVAILABLE', true],
    ['OperationFailed', 'EXCHANGE_UNAVAILABLE', true],
    ['InvalidNonce', 'EXCHANGE_ERROR', true],
    ['BadResponse', 'EXCHANGE_ERROR', true],
    ['NullResponse', 'EXCHANGE_ERROR', true],
    ['AuthenticationError', 'AUTH_FAILED', false],
    ['PermissionDenied', 'PERMISSION_DENIED', false],
    ['AccountNotEnabled', 'PERMISSION_DENIED', false],
    ['AccountSuspended', 'PERMISSION_DENIED', false],
    ['InsufficientFunds', 'INSUFFICIENT_FUNDS', false],
    ['BadSymbol', 'BAD_SYMBOL', false],
    ['BadRequest', 'BAD_REQUEST', false],
    ['ArgumentsRequired', 'BAD_REQUEST', false],
    ['OrderNotFound', 'ORDER_NOT_FOUND', false],
    ['InvalidOrder', 'INVALID_ORDER', false],
    ['DuplicateOrderId', 'INVALID_ORDER', false],
    ['NotSupported', 'NOT_SUPPORTED', false],
    ['ExchangeError', 'EXCHANGE_ERROR', false],
    ['BaseError', 'EXCHANGE_ERROR', false],
  ];

  it.each(reads)('%s → %s (retryable %s), most specific class first', (cls, code, retryable) => {
    const f = classifyError(new (errorClass(cls))('binance {"code":-1,"msg":"x"}'), { label: 'binance' });
    expect(f).toMatchObject({ code, retryable, exchangeError: cls });
    expect(f.message).toBe('binance: binance {"code":-1,"msg":"x"}');
  });

  it('knows every error class ccxt has (each resolves through its chain to a listed class)', () => {
    const classes = Object.entries(ccxtErrors as unknown as Record<string, unknown>).filter((e): e is [string, new (m: string) => Error] => typeof e[1] === 'function');
    expect(classes.length).toBeGreaterThan(40);
    for (const [name, Cls] of classes) {
      const chain = classChain(new Cls('x'));
      expect(chain[0]).toBe(name);
      expect(chain.some((c) => c in CCXT_ERROR_TABLE), name).toBe(true);
    }
    expect(isCcxtError(new ccxt.RequestTimeout('x'))).toBe(true);
    expect(isCcxtError(new TypeError('x'))).toBe(false);
  });

  it('reports writes whose outcome is unknown as UNKNOWN_OUTCOME (never retryable), definite refusals as they are', () => {
    for (const cls of ['RequestTimeout', 'NetworkError', 'ExchangeNotAvailable', 'OperationFailed', 'BadResponse']) {
      const f = classifyError(new (errorClass(cls))('gone'), { write: true });
      expect(f, cls).toMatchObject({ code: 'UNKNOWN_OUTCOME', retryable: false, exchangeError: cls });
      expect(f.message).toContain('do not send it again blindly');
    }
    expect(classifyError(new ccxt.RequestTimeout('t'), { write: true }).cause).toBe('TIMEOUT');
    for (const [cls, code] of [['InsufficientFunds', 'INSUFFICIENT_FUNDS'], ['DDoSProtection', 'RATE_LIMITED'], ['InvalidOrder', 'INVALID_ORDER'], ['InvalidNonce', 'EXCHANGE_ERROR']]) {
      expect(classifyError(new (errorClass(cls!))('no'), { write: true }).code, cls).toBe(code);
    }
  });

  it('treats a non-ccxt error out of a ccxt call as an unparseable answer (reads) or an unknown outcome (writes)', () => {
    const te = new TypeError("Cannot read properties of undefined (reading 'symbol')");
    expect(classifyError(te)).toMatchObject({ code: 'EXCHANGE_ERROR', retryable: true, exchangeError: 'TypeError' });
    expect(classifyError(te).message).toContain('unexpected response from the exchange');
    expect(classifyError(te, { write: true })).toMatchObject({ code: 'UNKNOWN_OUTCOME', cause: 'EXCHANGE_ERROR' });
    // our own coded errors pass through
    const own = new CcxtError({ code: 'BAD_SYMBOL', message: 'no market', retryable: false });
    expect(classifyError(own, { write: true })).toMatchObject({ code: 'BAD_SYMBOL', retryable: false });
  });

  it('redacts credentials and bounds the message', () => {
    const f = classifyError(new ccxt.AuthenticationError('binance key=k-123456 secret=s-abcdef rejected'), { secrets: ['k-123456', 's-abcdef'] });
    expect(f.message).toBe('binance key=[redacted] secret=[redacted] rejected');
    expect(classifyError(new ccxt.ExchangeError('x'.repeat(5_000))).message.length).toBeLessThan(700);
  });

  it('in the session: host classifications stand; anything else during a write is an unknown outcome', () => {
    // as an error thrown in the host arrives through comlink: a plain Error with its own fields
    const fromHost = Object.assign(new Error('insufficient'), { name: 'CcxtError', code: 'INSUFFICIENT_FUNDS', retryable: false });
    expect(writeFailureOf(fromHost)).toMatchObject({ code: 'INSUFFICIENT_FUNDS', retryable: false });
    const lost = new CodedError('RESOURCE_LOST', 'ccxt binance/spot is gone');
    expect(failureOf(lost)).toMatchObject({ code: 'RESOURCE_LOST', retryable: true });
    expect(writeFailureOf(lost)).toMatchObject({ code: 'UNKNOWN_OUTCOME', retryable: false, cause: 'RESOURCE_LOST' });
    // our own deadline, raised in the session while the write was in flight
    expect(writeFailureOf(new CcxtError({ code: 'TIMEOUT', message: 'deadline', retryable: true }))).toMatchObject({ code: 'UNKNOWN_OUTCOME', cause: 'TIMEOUT' });
    expect(failureOf(Object.assign(new Error('lease'), { code: 'LEASE_TIMEOUT' }))).toMatchObject({ code: 'LEASE_TIMEOUT', retryable: true });
    expect(failureOf(new Error('boom'))).toMatchObject({ code: 'INTERNAL', retryable: false });
  });
});

describe('market-data cache', () => {
  it('coalesces identical requests in flight, serves within the TTL, refetches after it', async () => {
    let now = 1_000;
    const cache = new TtlCache(100, () => now);
    let calls = 0;
    let release!: (v: number) => void;
    const load = () => {
      calls++;
      return new Promise<number>((r) => (release = r));
    };
    const a = cache.get('k', 500, load);
    const b = cache.get('k', 500, load);
    release(42);
    expect(await a).toBe(42);
    expect(await b).toBe(42);
    expect(calls).toBe(1);
    expect(await cache.get('k', 500, async () => 0)).toBe(42);
    now += 501;
    expect(await cache.get('k', 500, async () => 7)).toBe(7);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 2, coalesced: 1 });
  });

  it('never caches a failure; TTL 0 still coalesces; bounded in size', async () => {
    const cache = new TtlCache(3);
    await expect(cache.get('x', 1_000, async () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(await cache.get('x', 1_000, async () => 1)).toBe(1);
    let n = 0;
    const slow = () => new Promise<number>((r) => setTimeout(() => r(++n), 20));
    const [p, q] = [cache.get('z', 0, slow), cache.get('z', 0, slow)];
    expect([await p, await q]).toEqual([1, 1]);
    expect(await cache.get('z', 0, slow)).toBe(2);
    for (let i = 0; i < 10; i++) await cache.get(`k${i}`, 60_000, async () => i);
    expect(cache.stats().entries).toBeLessThanOrEqual(3);
  });
});

describe('accounts', () => {
  const exchanges = ['binance', 'kraken'];
  const alice = { name: 'alice', exchange: 'binance', apiKey: 'AK-alice-0001', secret: 'SK-alice-0001' };

  it('parses the session credentials header: base64, base64url or raw JSON, one account or several', () => {
    const json = JSON.stringify([alice, { name: 'k', exchange: 'kraken', apiKey: 'AK-k', secret: 'SK-k+/=', password: 'pw' }]);
    const b64 = Buffer.from(json).toString('base64');
    const b64url = Buffer.from(json).toString('base64url');
    for (const v of [json, b64, b64url]) {
      const list = parseAccountsHeader(v, exchanges);
      expect(list.map((a) => [a.name, a.exchange, a.source, a.marketType, a.sandbox])).toEqual([
        ['alice', 'binance', 'session', 'spot', false],
        ['k', 'kraken', 'session', 'spot', false],
      ]);
      expect(list[1]!.credentials).toEqual({ apiKey: 'AK-k', secret: 'SK-k+/=', password: 'pw' });
    }
    expect(parseAccountsHeader(JSON.stringify(alice), exchanges)).toHaveLength(1);
  });

  it('refuses a bad header with a reason that never quotes it', () => {
    const cases: Array<[string, RegExp]> = [
      ['{"name":"a","exchange":"binance","apiKey":"AK-secret-1","secret":', /not valid JSON/],
      [Buffer.from('not json SK-secret-2').toString('base64'), /not valid JSON/],
      ['%%% SK-secret-3', /neither JSON nor base64/],
      [JSON.stringify({ ...alice, exchange: 'bitmex' }), /"bitmex" is not enabled/],
      [JSON.stringify([alice, alice]), /two accounts are named "alice"/],
      [JSON.stringify({ ...alice, apiKey: undefined }), /apiKey/],
      [JSON.stringify({ ...alice, principals: ['x'] }), /principals|Unrecognized/i],
      ['x'.repeat(9_000), /longer than/],
    ];
    for (const [value, why] of cases) {
      let message = '';
      try {
        parseAccountsHeader(value, exchanges);
      } catch (err) {
        message = (err as Error).message;
        expect((err as { code?: string }).code).toBe('AUTH_FAILED');
      }
      expect(message).toMatch(why);
      expect(message).not.toMatch(/SK-|AK-/);
    }
  });

  it('binds session accounts to their session only, and forgets them when it ends', () => {
    const reg = new AccountRegistry({ configured: [], exchanges, sessionCredentials: { enabled: true, header: 'x-ccxt-accounts' } });
    reg.bindSession('s1', undefined, { 'x-ccxt-accounts': JSON.stringify(alice) });
    reg.bindSession('s2', undefined, { 'x-ccxt-accounts': JSON.stringify({ ...alice, name: 'bob', apiKey: 'AK-bob', secret: 'SK-bob' }) });
    reg.bindSession('s3', undefined, {});
    expect(reg.info('s1', undefined).map((a) => a.name)).toEqual(['alice']);
    expect(reg.info('s2', undefined).map((a) => a.name)).toEqual(['bob']);
    expect(reg.info('s3', undefined)).toEqual([]);
    const spec = { role: 'account' as const, account: 'alice', exchange: 'binance', marketType: 'spot' as const, sandbox: false };
    expect(reg.secretsFor('s1', undefined, spec)).toEqual({ apiKey: 'AK-alice-0001', secret: 'SK-alice-0001' });
    expect(() => reg.secretsFor('s2', undefined, spec)).toThrow(/no account named "alice" is available to this session/);
    expect(() => reg.secretsFor('s1', undefined, { ...spec, sandbox: true })).toThrow(/trades on binance\/spot, not as requested/);
    expect(reg.boundSessions).toBe(2);
    reg.unbindSession('s1');
    expect(() => reg.secretsFor('s1', undefined, spec)).toThrow(/no account named/);
    expect(reg.boundSessions).toBe(1);
  });

  it('remembers why a session\'s header was refused and answers AUTH_FAILED with it', () => {
    const reg = new AccountRegistry({ configured: [{ ...alice, marketType: 'spot', sandbox: false }], exchanges, sessionCredentials: { enabled: true, header: 'x-ccxt-accounts' } });
    reg.bindSession('s1', undefined, { 'x-ccxt-accounts': JSON.stringify({ ...alice, apiKey: 'AK-other', secret: 'SK-other' }) });
    expect(reg.bindingError('s1')).toMatch(/account "alice" is already a server account/);
    reg.bindSession('s2', undefined, { 'x-ccxt-accounts': 'garbage!' });
    expect(() => reg.resolve('s2', undefined, 'nope')).toThrow(/session credentials header could not be used/);
    const off = new AccountRegistry({ configured: [], exchanges, sessionCredentials: { enabled: false, header: 'x-ccxt-accounts' } });
    off.bindSession('s', undefined, { 'x-ccxt-accounts': JSON.stringify(alice) });
    expect(off.info('s', undefined)).toEqual([]);
    expect(off.bindingError('s')).toMatch(/does not accept session credentials/);
  });

  it('shows server accounts to all sessions, or only to their principals', () => {
    const reg = new AccountRegistry({
      configured: [
        { ...alice, marketType: 'spot', sandbox: false, principals: ['tenant-a'] },
        { name: 'ops', exchange: 'kraken', apiKey: 'AK-ops', secret: 'SK-ops', marketType: 'spot', sandbox: false, principals: ['oauth:svc-1'] },
      ],
      env: { BINANCE_API_KEY: 'AK-env', BINANCE_SECRET: 'SK-env', BINANCE_PASSWORD: 'PW-env', KRAKEN_API_KEY: 'only-half' },
      exchanges,
      sessionCredentials: { enabled: true, header: 'x-ccxt-accounts' },
    });
    expect(reg.info('s', 'token:tenant-a').map((a) => a.name)).toEqual(['alice', 'binance']);
    expect(reg.info('s', 'token:tenant-b').map((a) => a.name)).toEqual(['binance']);
    expect(reg.info('s', 'oauth:tenant-a').map((a) => a.name)).toEqual(['binance']); // a bare name is a static-token principal
    expect(reg.info('s', 'oauth:svc-1').map((a) => a.name)).toEqual(['ops', 'binance']);
    expect(reg.info('s', undefined).map((a) => a.name)).toEqual(['binance']);
    expect(reg.resolve('s', undefined, 'binance').credentials).toEqual({ apiKey: 'AK-env', secret: 'SK-env', password: 'PW-env' });
    expect(reg.warnings).toEqual(['KRAKEN_API_KEY and KRAKEN_SECRET must both be set']);
    expect(envAccounts({ KRAKEN_API_KEY: 'a', KRAKEN_SECRET: 'b', KRAKEN_SANDBOX: '1' }, exchanges).accounts[0]).toMatchObject({ name: 'kraken', sandbox: true });
  });

  it('validates specs from session threads', () => {
    expect(parseSpec({ role: 'public', exchange: 'binance' })).toEqual({ role: 'public', exchange: 'binance', marketType: 'spot', sandbox: false });
    expect(() => parseSpec({ role: 'account', exchange: 'binance', account: '../x' })).toThrow(/account/);
    expect(() => parseSpec({ role: 'root', exchange: 'binance' })).toThrow(/role/);
    expect(() => parseSpec({ role: 'public', exchange: 'Binance!' })).toThrow(/exchange/);
  });
});

describe('ccxt configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ccxt-config-'));
  const withSecrets = { ccxt: { exchanges: ['binance'], accounts: [{ name: 'main', exchange: 'binance', apiKey: 'AK-file', secret: 'SK-file' }] } };

  it('refuses a config file holding credentials that group or others can read', () => {
    const file = join(dir, 'open.json');
    writeFileSync(file, JSON.stringify(withSecrets));
    chmodSync(file, 0o644);
    expect(configFileProblem(file, withSecrets)).toMatch(/readable or writable by group or others \(mode 644\); run chmod 600/);
    expect(() => readConfigFile(file)).toThrow(/holds exchange credentials/);
    chmodSync(file, 0o600);
    expect(readConfigFile(file)).toEqual(withSecrets);
    const plain = join(dir, 'plain.json');
    writeFileSync(plain, JSON.stringify({ ccxt: { exchanges: ['binance'] } }));
    chmodSync(plain, 0o644);
    expect(readConfigFile(plain)).toEqual({ ccxt: { exchanges: ['binance'] } });
  });

  it('has defaults, and checks accounts and overrides against the allowlist', () => {
    const c = ccxtConfigSchema.parse({});
    expect(c).toMatchObject({ hosts: 2, timeoutMs: 10_000, maxClients: 64, maxLeases: 1_024, leaseWaitMs: 10_000, idleTtlMs: 300_000 });
    expect(c.cache).toEqual({ tickerMs: 1_000, tickersMs: 1_000, orderBookMs: 500, maxEntries: 10_000 });
    expect(c.sessionCredentials).toEqual({ enabled: true, header: 'x-ccxt-accounts' });
    expect(parseConfig({}).ccxt.exchanges[0]).toBe('binance');
    expect(() => parseConfig({ ccxt: { exchanges: ['binance'], accounts: [{ name: 'a', exchange: 'kraken', apiKey: 'k', secret: 's' }] } })).toThrow(/ccxt.accounts.0.exchange: must be one of ccxt.exchanges/);
    expect(() => parseConfig({ ccxt: { exchanges: ['binance'], overrides: { kraken: {} } } })).toThrow(/overrides an exchange that is not in ccxt.exchanges/);
    expect(() => parseConfig({ ccxt: { exchanges: ['binance'], defaultExchange: 'okx' } })).toThrow(/defaultExchange/);
    const dup = { name: 'a', exchange: 'binance', apiKey: 'k', secret: 's' };
    expect(() => parseConfig({ ccxt: { exchanges: ['binance'], accounts: [dup, dup] } })).toThrow(/two accounts have this name/);
  });
});
