/**
 * Exchange errors as values: every failure of a ccxt call becomes one stable code, a retryable
 * flag and a message a client can act on — never a secret.
 *
 * Classification walks the thrown error's class chain from the most derived class upwards and
 * takes the first class the table lists. That is exactly "the most specific `instanceof` wins":
 * BadSymbol is a BadRequest, OrderNotFound an InvalidOrder, RequestTimeout / DDoSProtection /
 * ExchangeNotAvailable / RateLimitExceeded / InvalidNonce are NetworkErrors, which are
 * OperationFailed — and it needs no ccxt import, so the toolset and the tests can use it too.
 *
 * Writes (create_order, cancel_order) are different: when the request may have reached the
 * exchange and no definite answer came back (a timeout, a lost connection, a gateway error, an
 * unparseable reply), the outcome is unknown. Such a failure is reported as UNKNOWN_OUTCOME with
 * the underlying cause, is never retryable blindly, and tells the client how to reconcile.
 */
import { CodedError } from '../../../shared/errors.js';

export const CCXT_ERROR_CODES = [
  'RATE_LIMITED',
  'TIMEOUT',
  'EXCHANGE_UNAVAILABLE',
  'AUTH_FAILED',
  'PERMISSION_DENIED',
  'INSUFFICIENT_FUNDS',
  'BAD_SYMBOL',
  'ORDER_NOT_FOUND',
  'INVALID_ORDER',
  'NOT_SUPPORTED',
  'BAD_REQUEST',
  'EXCHANGE_ERROR',
  'INTERNAL',
  'UNKNOWN_OUTCOME',
] as const;

export type CcxtErrorCode = (typeof CCXT_ERROR_CODES)[number];

export interface ErrorRule {
  code: CcxtErrorCode;
  retryable: boolean;
  /** A write that failed this way may nevertheless have been executed by the exchange. */
  outcomeUnknown: boolean;
}

const rule = (code: CcxtErrorCode, retryable: boolean, outcomeUnknown = false): ErrorRule => ({ code, retryable, outcomeUnknown });

/**
 * ccxt class → rule. Classes not listed inherit their nearest listed ancestor's rule (e.g.
 * OnMaintenance → ExchangeNotAvailable, DuplicateOrderId → InvalidOrder, NullResponse →
 * BadResponse, AccountNotEnabled → PermissionDenied).
 */
export const CCXT_ERROR_TABLE: Readonly<Record<string, ErrorRule>> = {
  // The exchange refused to serve us for now: nothing was executed.
  RateLimitExceeded: rule('RATE_LIMITED', true),
  DDoSProtection: rule('RATE_LIMITED', true),
  // No (usable) answer: the request may or may not have been executed.
  RequestTimeout: rule('TIMEOUT', true, true),
  ExchangeNotAvailable: rule('EXCHANGE_UNAVAILABLE', true, true),
  NetworkError: rule('EXCHANGE_UNAVAILABLE', true, true),
  BadResponse: rule('EXCHANGE_ERROR', true, true),
  CancelPending: rule('EXCHANGE_ERROR', true, true),
  OperationFailed: rule('EXCHANGE_UNAVAILABLE', true, true),
  // A clock/nonce rejection: refused before execution, fine to send again.
  InvalidNonce: rule('EXCHANGE_ERROR', true),
  // The exchange said no, definitely.
  PermissionDenied: rule('PERMISSION_DENIED', false),
  AccountSuspended: rule('PERMISSION_DENIED', false),
  RestrictedLocation: rule('PERMISSION_DENIED', false),
  AuthenticationError: rule('AUTH_FAILED', false),
  InsufficientFunds: rule('INSUFFICIENT_FUNDS', false),
  BadSymbol: rule('BAD_SYMBOL', false),
  OrderNotFound: rule('ORDER_NOT_FOUND', false),
  InvalidOrder: rule('INVALID_ORDER', false),
  NotSupported: rule('NOT_SUPPORTED', false),
  ArgumentsRequired: rule('BAD_REQUEST', false),
  BadRequest: rule('BAD_REQUEST', false),
  InvalidAddress: rule('BAD_REQUEST', false),
  MarketClosed: rule('EXCHANGE_ERROR', true),
  OperationRejected: rule('EXCHANGE_ERROR', false),
  // The client instance was closed under the call (evicted or its host stopping).
  ExchangeClosedByUser: rule('EXCHANGE_UNAVAILABLE', true, true),
  ExchangeError: rule('EXCHANGE_ERROR', false),
  BaseError: rule('EXCHANGE_ERROR', false),
};

/** The thrown value's class names, most derived first (stops below Error). */
export function classChain(err: unknown): string[] {
  const names: string[] = [];
  if (err === null || typeof err !== 'object') return names;
  for (let p = Object.getPrototypeOf(err) as object | null; p && p !== Error.prototype && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    const name = (p as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof name === 'string' && name) names.push(name);
  }
  return names;
}

/** True when the value is one of ccxt's errors (its chain reaches ccxt's BaseError). */
export function isCcxtError(err: unknown): boolean {
  return classChain(err).includes('BaseError');
}

/** Replaces every occurrence of a secret (of 4+ characters) in `text`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}

/** A classified failure: what crosses back to the session and, as JSON, to the client. */
export interface CcxtFailure {
  code: CcxtErrorCode;
  message: string;
  retryable: boolean;
  /** The ccxt class that was thrown (or the JS class of a non-ccxt error). */
  exchangeError?: string;
  /** For UNKNOWN_OUTCOME: what actually went wrong (TIMEOUT, EXCHANGE_UNAVAILABLE, …). */
  cause?: string;
}

export interface ClassifyOptions {
  /** The call is a write (create/cancel an order): unknown outcomes are reported as such. */
  write?: boolean;
  /** Names the client in the message, e.g. `binance/spot public client`. */
  label?: string;
  /** Strings that must never appear in the message (the client's credentials). */
  secrets?: readonly string[];
  /** The longest message kept (the exchange's text is cut beyond it). */
  maxMessage?: number;
}

const WRITE_NOTE = 'the order request may or may not have been executed by the exchange; do not send it again blindly';

/** Classifies whatever a ccxt call threw. */
export function classifyError(err: unknown, opts: ClassifyOptions = {}): CcxtFailure {
  const max = opts.maxMessage ?? 600;
  const raw = err instanceof Error ? err.message : String(err);
  let text = redact(raw, opts.secrets ?? []).replace(/\s+/g, ' ').trim();
  if (text.length > max) text = `${text.slice(0, max)}…`;
  const prefix = opts.label ? `${opts.label}: ` : '';
  const chain = classChain(err);
  const cls = chain[0] ?? typeof err;
  // Our own coded errors (validation in the factory) pass through unchanged.
  const own = (err as { code?: unknown })?.code;
  if (!chain.includes('BaseError') && typeof own === 'string' && (CCXT_ERROR_CODES as readonly string[]).includes(own)) {
    const retryable = (err as { retryable?: unknown }).retryable;
    return { code: own as CcxtErrorCode, message: `${prefix}${text}`, retryable: retryable === true };
  }
  let r: ErrorRule | undefined;
  for (const name of chain) {
    r = CCXT_ERROR_TABLE[name];
    if (r) break;
  }
  if (!r) {
    // Not a ccxt error, thrown from inside a ccxt call: ccxt choked on what the exchange sent
    // (a garbled body gives a plain TypeError on some methods).
    r = rule('EXCHANGE_ERROR', true, true);
    text = `unexpected response from the exchange (${cls}: ${text})`;
  }
  if (opts.write && r.outcomeUnknown) {
    return { code: 'UNKNOWN_OUTCOME', message: `${prefix}${WRITE_NOTE} (${r.code}: ${text})`, retryable: false, exchangeError: cls, cause: r.code };
  }
  return { code: r.code, message: `${prefix}${text}`, retryable: r.retryable, exchangeError: cls };
}

/** The runtime's one error type, carrying a classified failure: its own fields survive the thread boundary (rpc.ts). */
export class CcxtError extends CodedError<CcxtErrorCode> {
  readonly exchangeError?: string;
  override readonly cause?: string;

  constructor(f: CcxtFailure) {
    super(f.code, f.message, { retryable: f.retryable });
    this.name = 'CcxtError';
    if (f.exchangeError !== undefined) this.exchangeError = f.exchangeError;
    if (f.cause !== undefined) this.cause = f.cause;
  }
}

/** A coded error raised by our own checks (not by ccxt). */
export function ccxtError(code: CcxtErrorCode, message: string, retryable = false): CcxtError {
  return new CcxtError({ code, message, retryable });
}
