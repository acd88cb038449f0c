import { describe, expect, it } from 'vitest';
import { CodedError } from '../../src/shared/errors.js';
import { nestingDepth, parseMessage, requestIdOf } from '../../src/main/protocol/jsonrpc.js';

function codeOf(text: string): string {
  try {
    parseMessage(text);
    return 'ok';
  } catch (err) {
    return (err as CodedError).code;
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

  it('rejects what the SDK in the actor would silently drop: extra members, a malformed _meta', () => {
    expect(codeOf('{"jsonrpc":"2.0","id":1,"method":"ping","extra":1}')).toBe('INVALID_REQUEST');
    expect(codeOf('{"jsonrpc":"2.0","method":"notifications/initialized","id2":1}')).toBe('INVALID_REQUEST');
    expect(codeOf('{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}')).toBe('INVALID_REQUEST');
    expect(codeOf('{"jsonrpc":"2.0","id":1,"result":{},"x":null}')).toBe('INVALID_REQUEST');
    expect(codeOf('{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"m","extra":true}}')).toBe('INVALID_REQUEST');
    expect(codeOf('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":5}}')).toBe('INVALID_REQUEST');
    expect(codeOf('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"progressToken":1.5}}}')).toBe('INVALID_REQUEST');
    expect(codeOf('{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"io.modelcontextprotocol/related-task":{}}}}')).toBe('INVALID_REQUEST');
    expect(codeOf('{"jsonrpc":"2.0","id":1,"result":{"_meta":[]}}')).toBe('INVALID_REQUEST');
    // What the SDK accepts passes: loose params, _meta with extra keys, error data.
    expect(codeOf('{"jsonrpc":"2.0","id":1,"method":"x","params":{"_meta":{"progressToken":"p","other":1},"k":[1]}}')).toBe('ok');
    expect(codeOf('{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"m","data":{"a":1}}}')).toBe('ok');
    expect(codeOf('{"jsonrpc":"2.0","id":1,"result":{"_meta":{"progressToken":2},"content":[]}}')).toBe('ok');
  });

  it('agrees with the SDK message schema on every message it accepts', async () => {
    const { JSONRPCMessageSchema } = await import('@modelcontextprotocol/sdk/types.js');
    const fc = (await import('fast-check')).default;
    // Mostly-valid messages of each kind, each member occasionally wrong, missing or extra.
    const member = fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) });
    const meta = fc.oneof(member, fc.record({ progressToken: fc.oneof(member, fc.integer(), fc.double()), 'io.modelcontextprotocol/related-task': fc.oneof(member, fc.record({ taskId: fc.oneof(fc.string(), member) })) }, { requiredKeys: [] }));
    const params = fc.oneof(member, fc.record({ _meta: meta, k: member }, { requiredKeys: [] }));
    const base = {
      jsonrpc: fc.oneof({ weight: 9, arbitrary: fc.constant('2.0') }, { weight: 1, arbitrary: fc.constantFrom('1.0', 2) }),
      id: fc.oneof({ weight: 6, arbitrary: fc.oneof(fc.integer(), fc.string({ maxLength: 5 })) }, { weight: 1, arbitrary: fc.oneof(fc.double(), fc.constant(null)) }),
      other: fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) }),
    };
    const message = fc.oneof(
      fc.record({ ...base, method: fc.oneof(fc.constantFrom('ping', 'tools/call'), fc.integer()), params }, { requiredKeys: ['jsonrpc', 'id', 'method'] }),
      fc.record({ jsonrpc: base.jsonrpc, other: base.other, method: fc.constantFrom('notifications/progress', ''), params }, { requiredKeys: ['jsonrpc', 'method'] }),
      fc.record({ ...base, result: fc.oneof(member, fc.record({ _meta: meta, content: member }, { requiredKeys: [] })) }, { requiredKeys: ['jsonrpc', 'id', 'result'] }),
      fc.record({ ...base, error: fc.oneof(member, fc.record({ code: fc.oneof(fc.integer(), fc.double()), message: fc.oneof(fc.string(), member), data: member, more: member }, { requiredKeys: ['code', 'message'] })) }, { requiredKeys: ['jsonrpc', 'id', 'error'] }),
    );
    let accepted = 0;
    fc.assert(
      fc.property(message, (m) => {
        const text = JSON.stringify(m);
        if (codeOf(text) !== 'ok') return;
        accepted++;
        expect(JSONRPCMessageSchema.safeParse(JSON.parse(text)).success, text).toBe(true);
      }),
      { seed: 7, numRuns: 5_000 },
    );
    expect(accepted).toBeGreaterThan(1_000);
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
