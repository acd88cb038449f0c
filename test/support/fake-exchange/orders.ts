// The matching engine of the fake: validates orders like Binance spot, reserves balances,
// fills market orders (and marketable limit orders) at the current price, rests the rest,
// and fills resting orders when a test moves the price through them.

import { errors } from './errors.js';
import type { MarketData } from './marketdata.js';
import type { MarketSpec } from './markets.js';
import { ORDER_TYPES } from './markets.js';
import { floorToStep, isMultipleOf, r8 } from './numbers.js';
import type { Account, FakeOrder, FakeTrade, OrderSide, OrderType, TimeInForce } from './state.js';

export interface NewOrder {
  market: MarketSpec;
  side: string | undefined;
  type: string | undefined;
  timeInForce: string | undefined;
  quantity: number | undefined;
  quoteOrderQty: number | undefined;
  price: number | undefined;
  newClientOrderId: string | undefined;
}

export interface OrderRef {
  orderId: number | undefined;
  origClientOrderId: string | undefined;
}

const CLIENT_ID = /^[.A-Z:/a-z0-9_-]{1,36}$/;

export class Engine {
  private nextOrderId = 1;
  private nextTradeId = 1;
  private nextCancelId = 1;

  constructor(
    private readonly data: MarketData,
    private readonly feeRate: number,
  ) {}

  place(acct: Account, p: NewOrder, now: number): { order: FakeOrder; fills: FakeTrade[] } {
    const m = p.market;
    if (p.side === undefined) throw errors.mandatory('side');
    if (p.side !== 'BUY' && p.side !== 'SELL') throw errors.invalidSide();
    if (p.type === undefined) throw errors.mandatory('type');
    if (!(ORDER_TYPES as readonly string[]).includes(p.type)) throw errors.invalidOrderType();
    const side: OrderSide = p.side;
    const type = p.type as OrderType;
    let tif: TimeInForce = 'GTC';
    if (type === 'LIMIT') {
      if (p.timeInForce === undefined) throw errors.mandatory('timeInForce');
      if (p.timeInForce !== 'GTC' && p.timeInForce !== 'IOC' && p.timeInForce !== 'FOK') throw errors.invalidTimeInForce();
      tif = p.timeInForce;
    }
    if (p.newClientOrderId !== undefined && !CLIENT_ID.test(p.newClientOrderId)) throw errors.illegal('newClientOrderId');
    const clientOrderId = p.newClientOrderId ?? `fake_${now.toString(36)}_${this.nextOrderId}`;
    if (acct.openOrders().some((o) => o.clientOrderId === clientOrderId)) throw errors.duplicateOrder();

    const current = this.data.price(m.symbol);
    let qty: number;
    let limitPrice = 0;
    if (type === 'MARKET') {
      if (p.quantity === undefined && p.quoteOrderQty === undefined) {
        throw errors.mandatory('quantity');
      }
      qty = p.quantity ?? floorToStep((p.quoteOrderQty as number) / current, m.stepSize);
    } else {
      if (p.quantity === undefined) throw errors.mandatory('quantity');
      if (p.price === undefined) throw errors.mandatory('price');
      qty = p.quantity;
      limitPrice = p.price;
      if (!(limitPrice >= Number(m.tickSize)) || !isMultipleOf(limitPrice, m.tickSize)) throw errors.filter('PRICE_FILTER');
    }
    if (!(qty > 0)) throw errors.filter(p.quantity === undefined ? 'NOTIONAL' : 'LOT_SIZE');
    if (qty < Number(m.minQty) || qty > Number(m.maxQty) || !isMultipleOf(qty, m.stepSize)) {
      throw errors.filter(type === 'MARKET' ? 'MARKET_LOT_SIZE' : 'LOT_SIZE');
    }
    const marketable = type === 'MARKET' || (side === 'BUY' ? limitPrice >= current : limitPrice <= current);
    const execPrice = type === 'MARKET' || marketable ? current : limitPrice;
    if (qty * (type === 'MARKET' ? current : limitPrice) < Number(m.minNotional)) throw errors.filter('NOTIONAL');
    if (type === 'LIMIT_MAKER' && marketable) throw errors.wouldMatch();

    // balance check: a BUY needs quote (at the limit price for limit orders), a SELL needs base
    const needAsset = side === 'BUY' ? m.quoteAsset : m.baseAsset;
    const needAmount = side === 'BUY' ? r8(qty * (type === 'MARKET' ? execPrice : limitPrice)) : qty;
    if (acct.balance(needAsset).free < needAmount) throw errors.insufficientBalance();

    const order: FakeOrder = {
      orderId: this.nextOrderId++,
      clientOrderId,
      symbol: m.symbol,
      side,
      type,
      timeInForce: tif,
      price: limitPrice,
      origQty: qty,
      origQuoteOrderQty: type === 'MARKET' && p.quantity === undefined ? (p.quoteOrderQty as number) : 0,
      executedQty: 0,
      cummulativeQuoteQty: 0,
      status: 'NEW',
      time: now,
      updateTime: now,
      reserved: needAmount,
      tradeIds: [],
    };
    acct.lock(needAsset, needAmount);
    acct.orders.push(order);

    const fills: FakeTrade[] = [];
    if (marketable) {
      fills.push(this.fill(acct, order, qty, execPrice, false, now));
    } else if (tif === 'IOC' || tif === 'FOK') {
      this.release(acct, order, 'EXPIRED', now);
    }
    return { order, fills };
  }

  /** Execute `qty` of `order` at `price`, moving balances and recording the trade. */
  private fill(acct: Account, order: FakeOrder, qty: number, price: number, isMaker: boolean, now: number): FakeTrade {
    const m = this.data.get(order.symbol) as MarketSpec;
    const quote = r8(qty * price);
    let commission: number;
    let commissionAsset: string;
    if (order.side === 'BUY') {
      // the reservation was made at the limit price (or the market price); release the part
      // that this fill consumes, return any price improvement to free
      const consumed = order.type === 'MARKET' ? quote : r8(qty * order.price);
      acct.debitLocked(m.quoteAsset, consumed);
      acct.credit(m.quoteAsset, r8(consumed - quote));
      order.reserved = r8(order.reserved - consumed);
      commission = r8(qty * this.feeRate);
      commissionAsset = m.baseAsset;
      acct.credit(m.baseAsset, r8(qty - commission));
    } else {
      acct.debitLocked(m.baseAsset, qty);
      order.reserved = r8(order.reserved - qty);
      commission = r8(quote * this.feeRate);
      commissionAsset = m.quoteAsset;
      acct.credit(m.quoteAsset, r8(quote - commission));
    }
    const trade: FakeTrade = {
      id: this.nextTradeId++,
      orderId: order.orderId,
      symbol: order.symbol,
      side: order.side,
      price,
      qty,
      quoteQty: quote,
      commission,
      commissionAsset,
      time: now,
      isMaker,
    };
    acct.trades.push(trade);
    order.tradeIds.push(trade.id);
    order.executedQty = r8(order.executedQty + qty);
    order.cummulativeQuoteQty = r8(order.cummulativeQuoteQty + quote);
    order.updateTime = now;
    order.status = order.executedQty >= order.origQty ? 'FILLED' : 'PARTIALLY_FILLED';
    if (order.status === 'FILLED' && order.reserved !== 0) {
      // rounding dust of the reservation goes back to free
      const asset = order.side === 'BUY' ? m.quoteAsset : m.baseAsset;
      acct.debitLocked(asset, order.reserved);
      acct.credit(asset, order.reserved);
      order.reserved = 0;
    }
    return trade;
  }

  private release(acct: Account, order: FakeOrder, status: 'CANCELED' | 'EXPIRED', now: number): void {
    const m = this.data.get(order.symbol) as MarketSpec;
    const asset = order.side === 'BUY' ? m.quoteAsset : m.baseAsset;
    acct.debitLocked(asset, order.reserved);
    acct.credit(asset, order.reserved);
    order.reserved = 0;
    order.status = status;
    order.updateTime = now;
  }

  /** GET /api/v3/order semantics: by orderId (preferred) or origClientOrderId; -2013 if absent. */
  find(acct: Account, m: MarketSpec, ref: OrderRef): FakeOrder {
    const o = this.lookup(acct, m, ref);
    if (o === undefined) throw errors.orderDoesNotExist();
    return o;
  }

  private lookup(acct: Account, m: MarketSpec, ref: OrderRef): FakeOrder | undefined {
    if (ref.orderId === undefined && ref.origClientOrderId === undefined) {
      throw errors.mandatory('orderId');
    }
    // newest first: a client order id may be reused once the earlier order is closed
    for (let i = acct.orders.length - 1; i >= 0; i--) {
      const o = acct.orders[i] as FakeOrder;
      if (o.symbol !== m.symbol) continue;
      if (ref.orderId !== undefined) {
        if (o.orderId !== ref.orderId) continue;
        if (ref.origClientOrderId !== undefined && o.clientOrderId !== ref.origClientOrderId) return undefined;
        return o;
      }
      if (o.clientOrderId === ref.origClientOrderId) return o;
    }
    return undefined;
  }

  /** DELETE /api/v3/order: -2011 unless the order exists and is still open. */
  cancel(acct: Account, m: MarketSpec, ref: OrderRef, now: number): { order: FakeOrder; cancelClientOrderId: string } {
    const o = this.lookup(acct, m, ref);
    if (o === undefined || !acct.isOpen(o)) throw errors.unknownOrderOnCancel();
    this.release(acct, o, 'CANCELED', now);
    return { order: o, cancelClientOrderId: `fakecancel${this.nextCancelId++}` };
  }

  /** Fill resting limit orders that the new price has crossed (as maker, at their limit). */
  onPriceChange(accounts: readonly Account[], symbol: string, now: number): number {
    const price = this.data.price(symbol);
    let filled = 0;
    for (const acct of accounts) {
      for (const o of acct.openOrders(symbol)) {
        const crossed = o.side === 'BUY' ? price <= o.price : price >= o.price;
        if (!crossed) continue;
        this.fill(acct, o, r8(o.origQty - o.executedQty), o.price, true, now);
        filled++;
      }
    }
    return filled;
  }
}
