// Binance error responses: `{"code": <negative int>, "msg": "<text>"}` with an HTTP status.
// The messages below are Binance's own wording, so ccxt's message- and code-based error
// mapping sees exactly what it would see in production.

export class BinanceError extends Error {
  constructor(
    readonly code: number,
    readonly msg: string,
    readonly httpStatus: number = 400,
  ) {
    super(`${code} ${msg}`);
    this.name = 'BinanceError';
  }

  body(): string {
    return JSON.stringify({ code: this.code, msg: this.msg });
  }
}

/** Canonical Binance messages for the codes the fake produces itself. */
export const BINANCE_MESSAGES: Readonly<Record<number, string>> = {
  [-1000]: 'An unknown error occured while processing the request.',
  [-1003]:
    'Too much request weight used; current limit is 6000 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.',
  [-1007]: 'Timeout waiting for response from backend server. Send status unknown; execution status unknown.',
  [-1008]: 'Server is currently overloaded with other requests. Please try again in a few minutes.',
  [-1013]: 'Invalid quantity.',
  [-1015]: 'Too many new orders; current limit is 100 orders per 10 SECOND.',
  [-1021]: 'Timestamp for this request is outside of the recvWindow.',
  [-1022]: 'Signature for this request is not valid.',
  [-1100]: 'Illegal characters found in a parameter.',
  [-1101]: 'Duplicate values for a parameter detected.',
  [-1102]: 'A mandatory parameter was not sent, was empty/null, or malformed.',
  [-1115]: 'Invalid timeInForce.',
  [-1116]: 'Invalid orderType.',
  [-1117]: 'Invalid side.',
  [-1120]: 'Invalid interval.',
  [-1121]: 'Invalid symbol.',
  [-1131]: 'recvWindow must be less than 60000',
  [-2010]: 'Account has insufficient balance for requested action.',
  [-2011]: 'Unknown order sent.',
  [-2013]: 'Order does not exist.',
  [-2014]: 'API-key format invalid.',
  [-2015]: 'Invalid API-key, IP, or permissions for action.',
};

/** The HTTP status Binance uses for a given error code (400 unless listed). */
export function httpStatusFor(code: number): number {
  switch (code) {
    case -1003:
      return 429;
    case -2014:
    case -2015:
      return 401;
    case -1000:
    case -1001:
    case -1006:
    case -1007:
    case -1008:
      return 503;
    default:
      return 400;
  }
}

export function binanceError(code: number, msg?: string, httpStatus?: number): BinanceError {
  return new BinanceError(code, msg ?? BINANCE_MESSAGES[code] ?? 'Unknown error.', httpStatus ?? httpStatusFor(code));
}

export const errors = {
  invalidSymbol: () => binanceError(-1121),
  mandatory: (name: string) =>
    binanceError(-1102, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`),
  illegal: (name: string) => binanceError(-1100, `Illegal characters found in parameter '${name}'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.`),
  insufficientBalance: () => binanceError(-2010),
  orderDoesNotExist: () => binanceError(-2013),
  unknownOrderOnCancel: () => binanceError(-2011),
  apiKeyFormat: () => binanceError(-2014),
  invalidApiKey: () => binanceError(-2015),
  badSignature: () => binanceError(-1022),
  outsideRecvWindow: () => binanceError(-1021),
  recvWindowTooLarge: () => binanceError(-1131),
  invalidInterval: () => binanceError(-1120),
  invalidOrderType: () => binanceError(-1116),
  invalidSide: () => binanceError(-1117),
  invalidTimeInForce: () => binanceError(-1115),
  duplicateParam: () => binanceError(-1101),
  filter: (name: string) => binanceError(-1013, `Filter failure: ${name}`),
  duplicateOrder: () => binanceError(-2010, 'Duplicate order sent.'),
  wouldMatch: () => binanceError(-2010, 'Order would immediately match and take.'),
};
