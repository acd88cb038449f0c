// Start the fake exchange from the command line (npm run fake-exchange -- --help).
//
// Prints one JSON line — the URL, the API keys, the market count and `config`: the mcp-actors
// configuration that points ccxt's binance at this fake (every API family, options that keep
// loadMarkets on one endpoint, an account named "fake") — and, with --write-config, writes that
// configuration to a file (mode 0600: it holds the account's secret). Serves until SIGINT/SIGTERM.

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { mcpActorsConfig } from './ccxt.js';
import { DEFAULT_ACCOUNT, startFakeExchange } from './server.js';
import type { AccountSpec } from './state.js';

const USAGE = `Usage: npm run fake-exchange -- [options]
       node dist/test/support/fake-exchange/cli.js [options]

A fake Binance spot exchange on loopback, for trying the ccxt toolset without a real exchange.

Options:
  --port <n>              port (default 0: any free port)
  --markets <n>           extra synthetic markets besides the six built-in ones (default 0)
  --seed <n>              seed of the synthetic market data (default 1)
  --fee-rate <x>          trading fee rate (default 0)
  --write-config <file>   also write the mcp-actors configuration for it to <file> (mode 0600)
  -h, --help              this text

Accounts (environment): FAKE_EXCHANGE_ACCOUNTS (JSON array of {apiKey, secret, balances?}), or
FAKE_EXCHANGE_API_KEY + FAKE_EXCHANGE_SECRET (+ FAKE_EXCHANGE_BALANCES), else a demo account.

Then:  npm start -- --toolsets ccxt --config <file>     (and call get_ticker {"symbol": "BTC/USDT"})`;


function numOption(name: string, raw: string | undefined, def: number): number {
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got ${raw}`);
  return n;
}

function accountsFromEnv(env: NodeJS.ProcessEnv): AccountSpec[] {
  if (env.FAKE_EXCHANGE_ACCOUNTS !== undefined && env.FAKE_EXCHANGE_ACCOUNTS !== '') {
    const parsed: unknown = JSON.parse(env.FAKE_EXCHANGE_ACCOUNTS);
    if (!Array.isArray(parsed)) throw new Error('FAKE_EXCHANGE_ACCOUNTS must be a JSON array');
    return parsed.map((a: unknown, i) => {
      const o = a as Partial<AccountSpec>;
      if (typeof o.apiKey !== 'string' || typeof o.secret !== 'string') {
        throw new Error(`FAKE_EXCHANGE_ACCOUNTS[${i}] needs string apiKey and secret`);
      }
      return { apiKey: o.apiKey, secret: o.secret, balances: o.balances ?? {} };
    });
  }
  if (env.FAKE_EXCHANGE_API_KEY !== undefined && env.FAKE_EXCHANGE_SECRET !== undefined) {
    const balances =
      env.FAKE_EXCHANGE_BALANCES !== undefined
        ? (JSON.parse(env.FAKE_EXCHANGE_BALANCES) as Record<string, number>)
        : DEFAULT_ACCOUNT.balances;
    return [{ apiKey: env.FAKE_EXCHANGE_API_KEY, secret: env.FAKE_EXCHANGE_SECRET, balances: balances ?? {} }];
  }
  return [DEFAULT_ACCOUNT];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      markets: { type: 'string' },
      seed: { type: 'string' },
      'fee-rate': { type: 'string' },
      'write-config': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const accounts = accountsFromEnv(process.env);
  const exchange = await startFakeExchange({
    port: numOption('port', values.port, 0),
    markets: numOption('markets', values.markets, 0),
    seed: numOption('seed', values.seed, 1),
    feeRate: numOption('fee-rate', values['fee-rate'], 0),
    accounts,
    maxLogEntries: 10_000,
  });
  const config = mcpActorsConfig(exchange.url, accounts[0]!);
  if (values['write-config']) writeFileSync(values['write-config'], `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  process.stdout.write(
    JSON.stringify({ url: exchange.url, apiKeys: accounts.map((a) => a.apiKey), markets: exchange.markets.length, config }) + '\n',
  );
  const stop = () => {
    exchange.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`fake-exchange: ${e instanceof Error ? e.message : String(e)}\n${USAGE}\n`);
  process.exit(e instanceof TypeError && String((e as { code?: string }).code).startsWith('ERR_PARSE_ARGS') ? 2 : 1);
});
