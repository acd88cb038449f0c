// JSON shapes of Binance spot private responses (orders, fills, trades, account).

import { fmt } from './numbers.js';
import type { Account, FakeOrder, FakeTrade } from './state.js';

/** GET /api/v3/order, /openOrders, /allOrders element. */
export function orderJson(o: FakeOrder): Record<string, unknown> {
  return {
    symbol: o.symbol,
    orderId: o.orderId,
    orderListId: -1,
    clientOrderId: o.clientOrderId,
    price: fmt(o.price),
    origQty: fmt(o.origQty),
    executedQty: fmt(o.executedQty),
    cummulativeQuoteQty: fmt(o.cummulativeQuoteQty),
    status: o.status,
    timeInForce: o.timeInForce,
    type: o.type,
    side: o.side,
    stopPrice: fmt(0),
    icebergQty: fmt(0),
    time: o.time,
    updateTime: o.updateTime,
    isWorking: true,
    workingTime: o.time,
    origQuoteOrderQty: fmt(o.origQuoteOrderQty),
    selfTradePreventionMode: 'EXPIRE_MAKER',
  };
}

/** POST /api/v3/order response for newOrderRespType ACK | RESULT | FULL. */
export function newOrderJson(o: FakeOrder, fills: readonly FakeTrade[], respType: string): Record<string, unknown> {
  const ack = {
    symbol: o.symbol,
    orderId: o.orderId,
    orderListId: -1,
    clientOrderId: o.clientOrderId,
    transactTime: o.time,
  };
  if (respType === 'ACK') return ack;
  const result = {
    ...ack,
    price: fmt(o.price),
    origQty: fmt(o.origQty),
    executedQty: fmt(o.executedQty),
    origQuoteOrderQty: fmt(o.origQuoteOrderQty),
    cummulativeQuoteQty: fmt(o.cummulativeQuoteQty),
    status: o.status,
    timeInForce: o.timeInForce,
    type: o.type,
    side: o.side,
    workingTime: o.time,
    selfTradePreventionMode: 'EXPIRE_MAKER',
  };
  if (respType === 'RESULT') return result;
  return {
    ...result,
    fills: fills.map((t) => ({
      price: fmt(t.price),
      qty: fmt(t.qty),
      commission: fmt(t.commission),
      commissionAsset: t.commissionAsset,
      tradeId: t.id,
    })),
  };
}

/** DELETE /api/v3/order response. */
export function cancelJson(o: FakeOrder, cancelClientOrderId: string, now: number): Record<string, unknown> {
  return {
    symbol: o.symbol,
    origClientOrderId: o.clientOrderId,
    orderId: o.orderId,
    orderListId: -1,
    clientOrderId: cancelClientOrderId,
    transactTime: now,
    price: fmt(o.price),
    origQty: fmt(o.origQty),
    executedQty: fmt(o.executedQty),
    origQuoteOrderQty: fmt(o.origQuoteOrderQty),
    cummulativeQuoteQty: fmt(o.cummulativeQuoteQty),
    status: o.status,
    timeInForce: o.timeInForce,
    type: o.type,
    side: o.side,
    selfTradePreventionMode: 'EXPIRE_MAKER',
  };
}

/** GET /api/v3/myTrades element. */
export function myTradeJson(t: FakeTrade): Record<string, unknown> {
  return {
    symbol: t.symbol,
    id: t.id,
    orderId: t.orderId,
    orderListId: -1,
    price: fmt(t.price),
    qty: fmt(t.qty),
    quoteQty: fmt(t.quoteQty),
    commission: fmt(t.commission),
    commissionAsset: t.commissionAsset,
    time: t.time,
    isBuyer: t.side === 'BUY',
    isMaker: t.isMaker,
    isBestMatch: true,
  };
}

/** GET /api/v3/account. */
export function accountJson(a: Account, now: number, omitZeroBalances: boolean): Record<string, unknown> {
  const balances = [...a.balances.entries()]
    .filter(([, b]) => !omitZeroBalances || b.free !== 0 || b.locked !== 0)
    .map(([asset, b]) => ({ asset, free: fmt(b.free), locked: fmt(b.locked) }));
  return {
    makerCommission: 10,
    takerCommission: 10,
    buyerCommission: 0,
    sellerCommission: 0,
    commissionRates: { maker: '0.00100000', taker: '0.00100000', buyer: '0.00000000', seller: '0.00000000' },
    canTrade: true,
    canWithdraw: true,
    canDeposit: true,
    brokered: false,
    requireSelfTradePrevention: false,
    preventSor: false,
    updateTime: now,
    accountType: 'SPOT',
    balances,
    permissions: ['SPOT'],
    uid: a.uid,
  };
}
