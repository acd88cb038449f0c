// Accounts: one per API key, each with its own balances, orders and trades. Nothing is shared
// between accounts, so one key can never see another's orders, fills or balances.

import { CORE_ASSETS } from './markets.js';
import { r8 } from './numbers.js';

export interface AccountSpec {
  apiKey: string;
  secret: string;
  /** Free balance per asset at start, e.g. `{ USDT: 10_000, BTC: 0.5 }`. */
  balances?: Record<string, number>;
}

export interface Balance {
  free: number;
  locked: number;
}

export type OrderSide = 'BUY' | 'SELL';
export type OrderType = 'LIMIT' | 'LIMIT_MAKER' | 'MARKET';
export type TimeInForce = 'GTC' | 'IOC' | 'FOK';
export type OrderStatus = 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'EXPIRED';

export interface FakeOrder {
  orderId: number;
  clientOrderId: string;
  symbol: string;
  side: OrderSide;
  type: OrderType;
  timeInForce: TimeInForce;
  /** Limit price (0 for market orders, like Binance). */
  price: number;
  origQty: number;
  origQuoteOrderQty: number;
  executedQty: number;
  cummulativeQuoteQty: number;
  status: OrderStatus;
  time: number;
  updateTime: number;
  /** Amount still reserved for this order: quote asset for BUY, base asset for SELL. */
  reserved: number;
  tradeIds: number[];
}

export interface FakeTrade {
  id: number;
  orderId: number;
  symbol: string;
  side: OrderSide;
  price: number;
  qty: number;
  quoteQty: number;
  commission: number;
  commissionAsset: string;
  time: number;
  isMaker: boolean;
}

export class Account {
  readonly orders: FakeOrder[] = [];
  readonly trades: FakeTrade[] = [];
  readonly balances = new Map<string, Balance>();
  readonly apiKey: string;
  readonly secret: string;
  readonly uid: number;

  constructor(spec: AccountSpec, uid: number) {
    if (spec.apiKey === '') throw new Error('fake-exchange: apiKey must not be empty');
    this.apiKey = spec.apiKey;
    this.secret = spec.secret;
    this.uid = uid;
    for (const asset of CORE_ASSETS) this.balances.set(asset, { free: 0, locked: 0 });
    for (const [asset, amount] of Object.entries(spec.balances ?? {})) {
      this.balances.set(asset, { free: r8(amount), locked: 0 });
    }
  }

  balance(asset: string): Balance {
    let b = this.balances.get(asset);
    if (b === undefined) {
      b = { free: 0, locked: 0 };
      this.balances.set(asset, b);
    }
    return b;
  }

  /** Move `amount` of `asset` between free and locked (positive: free → locked). */
  lock(asset: string, amount: number): void {
    const b = this.balance(asset);
    b.free = r8(b.free - amount);
    b.locked = r8(b.locked + amount);
  }

  credit(asset: string, amount: number): void {
    const b = this.balance(asset);
    b.free = r8(b.free + amount);
  }

  debitLocked(asset: string, amount: number): void {
    const b = this.balance(asset);
    b.locked = r8(b.locked - amount);
  }

  isOpen(o: FakeOrder): boolean {
    return o.status === 'NEW' || o.status === 'PARTIALLY_FILLED';
  }

  openOrders(symbol?: string): FakeOrder[] {
    return this.orders.filter((o) => this.isOpen(o) && (symbol === undefined || o.symbol === symbol));
  }
}

export class Accounts {
  private readonly byKey = new Map<string, Account>();

  constructor(specs: readonly AccountSpec[]) {
    for (const s of specs) this.add(s);
  }

  add(spec: AccountSpec): Account {
    if (this.byKey.has(spec.apiKey)) throw new Error(`fake-exchange: duplicate apiKey ${spec.apiKey}`);
    const a = new Account(spec, 100_000 + this.byKey.size);
    this.byKey.set(spec.apiKey, a);
    return a;
  }

  get(apiKey: string | null | undefined): Account | undefined {
    return apiKey === null || apiKey === undefined ? undefined : this.byKey.get(apiKey);
  }

  all(): Account[] {
    return [...this.byKey.values()];
  }
}
