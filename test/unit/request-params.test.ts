/**
 * The actor's params check answers exactly what the SDK's schemas answer — its zod-free fast path
 * for the common shapes included: on every sample below, "valid" from invalidParams agrees with
 * a full parse of the SDK schema.
 */
import { describe, expect, it } from 'vitest';
import { CallToolRequestSchema, ListToolsRequestSchema, ListPromptsRequestSchema } from '@modelcontextprotocol/core';
import { invalidParams } from '../../src/actor/request-params.js';

const CALLS: unknown[] = [
  { name: 'echo' },
  { name: 'echo', arguments: { a: 1 } },
  { name: 'echo', arguments: {}, _meta: { progressToken: 1 } },
  { name: 'echo', _meta: { progressToken: 'p' } },
  { name: 'echo', _meta: { progressToken: null } },
  { name: 'echo', _meta: { progressToken: { x: 1 } } },
  { name: 'echo', _meta: { other: 1 } },
  { name: 'echo', _meta: [] },
  { name: 'echo', arguments: [] },
  { name: 'echo', arguments: 'x' },
  { name: 'echo', arguments: null },
  { name: 'echo', extra: true },
  { name: 1 },
  { name: '' },
  {},
  [],
  null,
  undefined,
  'x',
];
const LISTS: unknown[] = [undefined, {}, { cursor: 'c' }, { cursor: 1 }, { cursor: null }, { _meta: { progressToken: 2 } }, { other: 1 }, [], null, 'x'];

describe('request params check', () => {
  it('agrees with the SDK schema on tools/call', () => {
    for (const params of CALLS) {
      const zod = CallToolRequestSchema.safeParse({ method: 'tools/call', params }).success;
      expect(invalidParams('tools/call', params) === undefined, JSON.stringify(params)).toBe(zod);
    }
  });

  it('agrees with the SDK schemas on the list methods', () => {
    for (const [method, schema] of [['tools/list', ListToolsRequestSchema], ['prompts/list', ListPromptsRequestSchema]] as const) {
      for (const params of LISTS) {
        const zod = schema.safeParse({ method, params }).success;
        expect(invalidParams(method, params) === undefined, `${method} ${JSON.stringify(params)}`).toBe(zod);
      }
    }
  });
});
