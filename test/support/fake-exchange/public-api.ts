// Public (and API-key-only) market-data endpoints of Binance spot /api/v3.

import { fmt } from './numbers.js';
import { limitParam, intParam, stringParam, type Ctx, type RawReply, type RouteTable } from './routes.js';
import { errors } from './errors.js';
import type { MarketSpec } from './markets.js';

/** `symbol=X` → [X]; `symbols=["X","Y"]` → [X, Y]; neither → undefined (all markets). */
function selectedMarkets(ctx: Ctx): MarketSpec[] | undefined {
  const symbol = stringParam(ctx, 'symbol');
  if (symbol !== undefined) return [ctx.data.require(symbol)];
  const symbols = stringParam(ctx, 'symbols');
  if (symbols !== undefined) return ctx.data.requireMany(symbols);
  return undefined;
}

/** Endpoints that answer one object for `symbol=` and an array otherwise. */
function perSymbol(ctx: Ctx, one: (m: MarketSpec) => Record<string, unknown>): unknown {
  const symbol = stringParam(ctx, 'symbol');
  if (symbol !== undefined) return one(ctx.data.require(symbol));
  const selected = selectedMarkets(ctx) ?? ctx.data.markets;
  return selected.map(one);
}

export const publicRoutes: RouteTable = {
  '/api/v3/ping': { GET: { security: 'NONE', handle: () => ({}) } },
  '/api/v3/time': { GET: { security: 'NONE', handle: (ctx) => ({ serverTime: ctx.now }) } },
  '/api/v3/exchangeInfo': {
    GET: {
      security: 'NONE',
      handle: (ctx): RawReply => ({ raw: ctx.data.exchangeInfoBody(ctx.now, selectedMarkets(ctx)) }),
    },
  },
  '/api/v3/ticker/24hr': {
    GET: { security: 'NONE', handle: (ctx) => perSymbol(ctx, (m) => ctx.data.ticker24hr(m, ctx.now)) },
  },
  // rolling-window ticker: same shape as 24hr for our purposes, but a symbol is required
  '/api/v3/ticker': {
    GET: {
      security: 'NONE',
      handle: (ctx) => {
        if (selectedMarkets(ctx) === undefined) throw errors.mandatory('symbol');
        return perSymbol(ctx, (m) => ctx.data.ticker24hr(m, ctx.now));
      },
    },
  },
  '/api/v3/ticker/price': {
    GET: {
      security: 'NONE',
      handle: (ctx) => perSymbol(ctx, (m) => ({ symbol: m.symbol, price: fmt(ctx.data.price(m.symbol)) })),
    },
  },
  '/api/v3/ticker/bookTicker': {
    GET: { security: 'NONE', handle: (ctx) => perSymbol(ctx, (m) => ctx.data.bookTicker(m)) },
  },
  '/api/v3/avgPrice': {
    GET: {
      security: 'NONE',
      handle: (ctx) => {
        const m = ctx.data.require(stringParam(ctx, 'symbol'));
        return { mins: 5, price: fmt(ctx.data.price(m.symbol)), closeTime: ctx.now };
      },
    },
  },
  '/api/v3/depth': {
    GET: {
      security: 'NONE',
      handle: (ctx) => ctx.data.depth(ctx.data.require(stringParam(ctx, 'symbol')), limitParam(ctx, 100, 5000), ctx.now),
    },
  },
  '/api/v3/klines': { GET: { security: 'NONE', handle: klines } },
  '/api/v3/uiKlines': { GET: { security: 'NONE', handle: klines } },
  '/api/v3/aggTrades': {
    GET: {
      security: 'NONE',
      handle: (ctx) =>
        ctx.data.aggTrades(
          ctx.data.require(stringParam(ctx, 'symbol')),
          {
            fromId: intParam(ctx, 'fromId'),
            startTime: intParam(ctx, 'startTime'),
            endTime: intParam(ctx, 'endTime'),
            limit: limitParam(ctx, 500, 1000),
          },
          ctx.now,
        ),
    },
  },
  '/api/v3/trades': {
    GET: {
      security: 'NONE',
      handle: (ctx) =>
        ctx.data.trades(ctx.data.require(stringParam(ctx, 'symbol')), { limit: limitParam(ctx, 500, 1000) }, ctx.now),
    },
  },
  '/api/v3/historicalTrades': {
    GET: {
      security: 'API_KEY',
      handle: (ctx) =>
        ctx.data.trades(
          ctx.data.require(stringParam(ctx, 'symbol')),
          { fromId: intParam(ctx, 'fromId'), limit: limitParam(ctx, 500, 1000) },
          ctx.now,
        ),
    },
  },
};

function klines(ctx: Ctx): unknown {
  const m = ctx.data.require(stringParam(ctx, 'symbol'));
  const interval = stringParam(ctx, 'interval');
  if (interval === undefined) throw errors.mandatory('interval');
  return ctx.data.klines(
    m,
    interval,
    { startTime: intParam(ctx, 'startTime'), endTime: intParam(ctx, 'endTime'), limit: limitParam(ctx, 500, 1000) },
    ctx.now,
  );
}
