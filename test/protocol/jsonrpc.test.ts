import { describe, expect, it } from 'vitest';
import { McpActorsError } from '../../src/errors.js';
import { nestingDepth, parseMessage, requestIdOf } from '../../src/protocol/jsonrpc.js';

function codeOf(text: string): string {
  try {
    parseMessage(text);
    return 'ok';
  } catch (err) {
    return (err as McpActorsError).code;
  }
}

describe('parseMessage', () => {
  it('classifies requests, notifications and responses', () => {
    expect(parseMessage('{"jsonrpc":"2.0","id":1,"method":"ping"}')).toMatchObject({ kind: 'request', id: 1, method: 'ping' });
    expect(parseMessage('{"jsonrpc":"2.0","id":"a","method":"x","params":{"k":1}}')).toMatchObject({ kind: 'request', id: 'a', params: { k: 1 } });
    expect(parseMessage('{"jsonrpc":"2.0","method":"notifications/initialized"}')).toMatchObject({ kind: 'notification' });
    expect(parseMessage('{"jsonrpc":"2.0","id":3,"result":{}}')).toMatchObject({ kind: 'response', isError: false });
    expect(parseMessage('{"jsonrpc":"2.0","id":3,"error":{"code":-1,"message":"no"}}')).toMatchObject({ kind: 'response', isError: true });
  });

  it('keeps the raw text for forwarding', () => {
    const text = '{"jsonrpc":"2.0","id":1,"method":"ping"}';
    expect(parseMessage(text).raw).toBe(text);
  });

  it('rejects what is not one JSON-RPC 2.0 message, with the right code', () => {
    expect(codeOf('{')).toBe('PARSE_ERROR');
    expect(codeOf('[{"jsonrpc":"2.0","id":1,"method":"ping"}]')).toBe('BATCH_NOT_SUPPORTED');
    expect(codeOf('"x"')).toBe('INVALID_REQUEST');
    expect(codeOf('null')).toBe('INVALID_REQUEST');
    expect(codeOf('{"id":1,"method":"ping"}')).toBe('INVALID_REQUEST');
    expect(codeOf('{"jsonrpc":"2.0","id":null,"method":"ping"}')).toBe('INVALID_REQUEST');
    expect(codeOf('{"jsonrpc":"2.0","id":1.5,"method":"ping"}')).toBe('INVALID_REQUEST');
    expect(codeOf(`{"jsonrpc":"2.0","id":"${'x'.repeat(300)}","method":"ping"}`)).toBe('INVALID_REQUEST');
    expect(codeOf('{"jsonrpc":"2.0","id":1,"method":""}')).toBe('INVALID_REQUEST');
    expect(codeOf('{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}')).toBe('INVALID_REQUEST');
    expect(codeOf('{"jsonrpc":"2.0","id":1}')).toBe('INVALID_REQUEST');
    expect(codeOf('{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"m"}}')).toBe('INVALID_REQUEST');
    expect(codeOf('{"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"m"}}')).toBe('INVALID_REQUEST');
  });

  it('reports the request id of an invalid request when it could be read', () => {
    try {
      parseMessage('{"jsonrpc":"1.0","id":"r1","method":"x"}');
      expect.unreachable();
    } catch (err) {
      expect(requestIdOf(err)).toBe('r1');
    }
  });

  it('refuses deep nesting before JSON.parse sees it', () => {
    const deep = '{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":' + '['.repeat(100) + ']'.repeat(100) + '}}';
    expect(codeOf(deep)).toBe('TOO_DEEP');
    expect(nestingDepth('{"a":"[[[[[[[[[[[[["}', 5)).toBe(1); // brackets inside strings do not count
    expect(nestingDepth('{"a":"\\"[[[["}', 5)).toBe(1);
  });
});
