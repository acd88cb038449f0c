// Start the fake exchange from the command line (npm run fake-exchange):
//
//   node dist/test/support/fake-exchange/cli.js [--port 0] [--markets 0] [--seed 1] [--fee-rate 0]
//
// Prints one JSON line, e.g. {"url":"http://127.0.0.1:40123","apiKeys":["fake-demo-api-key"],"markets":6},
// then serves until SIGINT / SIGTERM. Accounts come from the environment:
//   FAKE_EXCHANGE_ACCOUNTS  JSON array of {apiKey, secret, balances?}  (takes precedence), or
//   FAKE_EXCHANGE_API_KEY + FAKE_EXCHANGE_SECRET (+ optional FAKE_EXCHANGE_BALANCES JSON object),
//   otherwise the built-in demo account (DEFAULT_ACCOUNT in server.ts).

import { parseArgs } from 'node:util';

import { DEFAULT_ACCOUNT, startFakeExchange } from './server.js';
import type { AccountSpec } from './state.js';

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
    },
    strict: true,
  });
  const accounts = accountsFromEnv(process.env);
  const exchange = await startFakeExchange({
    port: numOption('port', values.port, 0),
    markets: numOption('markets', values.markets, 0),
    seed: numOption('seed', values.seed, 1),
    feeRate: numOption('fee-rate', values['fee-rate'], 0),
    accounts,
    maxLogEntries: 10_000,
  });
  process.stdout.write(
    JSON.stringify({ url: exchange.url, apiKeys: accounts.map((a) => a.apiKey), markets: exchange.markets.length }) + '\n',
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
  process.stderr.write(`fake-exchange: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
