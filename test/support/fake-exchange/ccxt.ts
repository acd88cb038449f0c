// ccxt constructor options that make an unmodified `ccxt.binance` talk only to the fake:
//
//   const ex = new ccxt.binance({ ...binanceOverrides(fake.url), apiKey, secret, timeout: 1000 });
//
// `urls.api` is deep-merged by ccxt, so every API family binance defines must be overridden
// (a key left out would keep its real binance.com URL). The list below is ccxt 4.5.84's;
// tests compare it with a pristine instance so an upgrade that adds a family fails loudly,
// and `nonLoopbackUrls(exchange.urls)` double-checks a constructed instance.
//
// The `options` stop loadMarkets from calling anything but GET /api/v3/exchangeInfo:
//   fetchMarkets.types = ['spot']  no fapi/dapi exchangeInfo (futures markets)
//   fetchCurrencies = false         no sapi capital/config/getall (needs keys; wallet API)
//   fetchMargins = false            no sapi margin/allPairs + margin/isolated/allPairs

/** Each binance API family → the path prefix it uses on the fake (mirrors binance.com). */
export const BINANCE_API_PATHS: Readonly<Record<string, string>> = {
  public: '/api/v3',
  private: '/api/v3',
  v1: '/api/v1',
  sapi: '/sapi/v1',
  sapiV2: '/sapi/v2',
  sapiV3: '/sapi/v3',
  sapiV4: '/sapi/v4',
  dapiPublic: '/dapi/v1',
  dapiPrivate: '/dapi/v1',
  dapiPrivateV2: '/dapi/v2',
  dapiData: '/dapi-data/futures/data',
  eapiPublic: '/eapi/v1',
  eapiPrivate: '/eapi/v1',
  fapiPublic: '/fapi/v1',
  fapiPublicV2: '/fapi/v2',
  fapiPublicV3: '/fapi/v3',
  fapiPrivate: '/fapi/v1',
  fapiPrivateV2: '/fapi/v2',
  fapiPrivateV3: '/fapi/v3',
  fapiData: '/fapi-data/futures/data',
  papi: '/papi/v1',
  papiV2: '/papi/v2',
};

export interface BinanceOverrides {
  urls: { api: Record<string, string>; test: Record<string, string>; demo: Record<string, string> };
  options: {
    fetchMarkets: { types: string[] };
    fetchCurrencies: boolean;
    fetchMargins: boolean;
  };
}

export function binanceOverrides(baseUrl: string): BinanceOverrides {
  const u = new URL(baseUrl);
  if (u.hostname !== '127.0.0.1') throw new Error(`binanceOverrides: refusing non-loopback base URL ${baseUrl}`);
  const base = baseUrl.replace(/\/+$/, '');
  const api: Record<string, string> = {};
  for (const [family, path] of Object.entries(BINANCE_API_PATHS)) api[family] = base + path;
  return {
    // test/demo too, so setSandboxMode / enableDemoTrading cannot escape to binance either
    urls: { api, test: { ...api }, demo: { ...api } },
    options: {
      fetchMarkets: { types: ['spot'] },
      fetchCurrencies: false,
      fetchMargins: false,
    },
  };
}

/** The mcp-actors configuration that points ccxt's binance at the fake at `url`, with `account` as "fake". */
export function mcpActorsConfig(url: string, account: { apiKey: string; secret: string }): Record<string, unknown> {
  return {
    ccxt: {
      exchanges: ['binance'],
      overrides: { binance: binanceOverrides(url) },
      accounts: [{ name: 'fake', exchange: 'binance', apiKey: account.apiKey, secret: account.secret }],
    },
  };
}

/** Every http(s)/ws(s) URL found anywhere in `value` whose host is not 127.0.0.1. */
export function nonLoopbackUrls(value: unknown, seen = new Set<unknown>()): string[] {
  if (typeof value === 'string') {
    if (!/^(https?|wss?):\/\//i.test(value)) return [];
    try {
      return new URL(value).hostname === '127.0.0.1' ? [] : [value];
    } catch {
      return [value];
    }
  }
  if (value === null || typeof value !== 'object' || seen.has(value)) return [];
  seen.add(value);
  const out: string[] = [];
  for (const v of Object.values(value as Record<string, unknown>)) out.push(...nonLoopbackUrls(v, seen));
  return out;
}

/**
 * ccxt's binance picks a market-type-specific error table by *URL prefix*
 * (`https://api.binance.com/`, `https://demo-api…`, `https://testnet.binance.vision`); a
 * loopback URL matches none, so only the common table applies and ~290 codes that the spot
 * table classifies differently (e.g. -1008 OperationFailed → plain ExchangeError, -1131
 * BadRequest → ExchangeError) would classify differently against the fake than in production.
 * Call this on a constructed instance to merge the spot table into the common one, which
 * reproduces exactly what a spot request to binance.com gets (the spot table is consulted
 * first there, and its broad table is empty). Returns the same instance.
 */
export function alignSpotErrorMapping<T extends { exceptions: Record<string, unknown> }>(exchange: T): T {
  const ex = exchange.exceptions;
  const spot = (ex['spot'] ?? {}) as Record<string, unknown>;
  const spotExact = (spot['exact'] ?? {}) as Record<string, unknown>;
  const spotBroad = (spot['broad'] ?? {}) as Record<string, unknown>;
  exchange.exceptions = {
    ...ex,
    exact: { ...(ex['exact'] as Record<string, unknown>), ...spotExact },
    broad: { ...spotBroad, ...(ex['broad'] as Record<string, unknown>) },
  };
  return exchange;
}
