// SIGNED account/trade endpoints of Binance spot /api/v3. Every handler works on the
// caller's own account only (ctx.account, resolved from X-MBX-APIKEY by the server).

import { errors } from './errors.js';
import { accountJson, cancelJson, myTradeJson, newOrderJson, orderJson } from './format.js';
import type { NewOrder } from './orders.js';
import { account, decimalParam, intParam, limitParam, stringParam, type Ctx, type RouteTable } from './routes.js';

function newOrder(ctx: Ctx): NewOrder {
  return {
    market: ctx.data.require(stringParam(ctx, 'symbol')),
    side: stringParam(ctx, 'side'),
    type: stringParam(ctx, 'type'),
    timeInForce: stringParam(ctx, 'timeInForce'),
    quantity: decimalParam(ctx, 'quantity'),
    quoteOrderQty: decimalParam(ctx, 'quoteOrderQty'),
    price: decimalParam(ctx, 'price'),
    newClientOrderId: stringParam(ctx, 'newClientOrderId'),
  };
}

function orderRef(ctx: Ctx) {
  return { orderId: intParam(ctx, 'orderId'), origClientOrderId: stringParam(ctx, 'origClientOrderId') };
}

function respType(ctx: Ctx, type: string | undefined): string {
  const t = stringParam(ctx, 'newOrderRespType');
  if (t === 'ACK' || t === 'RESULT' || t === 'FULL') return t;
  return type === 'MARKET' || type === 'LIMIT' ? 'FULL' : 'ACK';
}

function inWindow(time: number, ctx: Ctx): boolean {
  const start = intParam(ctx, 'startTime');
  const end = intParam(ctx, 'endTime');
  return (start === undefined || time >= start) && (end === undefined || time <= end);
}

export const privateRoutes: RouteTable = {
  '/api/v3/account': {
    GET: {
      security: 'SIGNED',
      handle: (ctx) => accountJson(account(ctx), ctx.now, stringParam(ctx, 'omitZeroBalances') === 'true'),
    },
  },
  '/api/v3/order': {
    POST: {
      security: 'SIGNED',
      handle: (ctx) => {
        const p = newOrder(ctx);
        const { order, fills } = ctx.engine.place(account(ctx), p, ctx.now);
        return newOrderJson(order, fills, respType(ctx, p.type));
      },
    },
    GET: {
      security: 'SIGNED',
      handle: (ctx) => orderJson(ctx.engine.find(account(ctx), ctx.data.require(stringParam(ctx, 'symbol')), orderRef(ctx))),
    },
    DELETE: {
      security: 'SIGNED',
      handle: (ctx) => {
        const m = ctx.data.require(stringParam(ctx, 'symbol'));
        const { order, cancelClientOrderId } = ctx.engine.cancel(account(ctx), m, orderRef(ctx), ctx.now);
        return cancelJson(order, stringParam(ctx, 'newClientOrderId') ?? cancelClientOrderId, ctx.now);
      },
    },
  },
  // validates like a real order but changes nothing
  '/api/v3/order/test': {
    POST: {
      security: 'SIGNED',
      handle: (ctx) => {
        const p = newOrder(ctx);
        if (p.side !== 'BUY' && p.side !== 'SELL') throw errors.invalidSide();
        return {};
      },
    },
  },
  '/api/v3/openOrders': {
    GET: {
      security: 'SIGNED',
      handle: (ctx) => {
        const symbol = stringParam(ctx, 'symbol');
        const m = symbol === undefined ? undefined : ctx.data.require(symbol);
        return account(ctx).openOrders(m?.symbol).map(orderJson);
      },
    },
    DELETE: {
      security: 'SIGNED',
      handle: (ctx) => {
        const m = ctx.data.require(stringParam(ctx, 'symbol'));
        const acct = account(ctx);
        const open = acct.openOrders(m.symbol);
        if (open.length === 0) throw errors.unknownOrderOnCancel();
        return open.map((o) => {
          const { order, cancelClientOrderId } = ctx.engine.cancel(acct, m, { orderId: o.orderId, origClientOrderId: undefined }, ctx.now);
          return cancelJson(order, cancelClientOrderId, ctx.now);
        });
      },
    },
  },
  '/api/v3/allOrders': {
    GET: {
      security: 'SIGNED',
      handle: (ctx) => {
        const m = ctx.data.require(stringParam(ctx, 'symbol'));
        const fromOrderId = intParam(ctx, 'orderId');
        const limit = limitParam(ctx, 500, 1000);
        return account(ctx)
          .orders.filter((o) => o.symbol === m.symbol && (fromOrderId === undefined || o.orderId >= fromOrderId) && inWindow(o.time, ctx))
          .slice(0, limit)
          .map(orderJson);
      },
    },
  },
  '/api/v3/myTrades': {
    GET: {
      security: 'SIGNED',
      handle: (ctx) => {
        const m = ctx.data.require(stringParam(ctx, 'symbol'));
        const orderId = intParam(ctx, 'orderId');
        const fromId = intParam(ctx, 'fromId');
        const limit = limitParam(ctx, 500, 1000);
        const rows = account(ctx).trades.filter(
          (t) =>
            t.symbol === m.symbol &&
            (orderId === undefined || t.orderId === orderId) &&
            (fromId === undefined || t.id >= fromId) &&
            inWindow(t.time, ctx),
        );
        // without fromId Binance returns the most recent `limit` trades, oldest first
        return (fromId === undefined ? rows.slice(-limit) : rows.slice(0, limit)).map(myTradeJson);
      },
    },
  },
};
