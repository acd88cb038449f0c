import { describe, expect, it } from 'vitest';
import { EventStore } from '../../src/main/edge/event-store.js';

describe('EventStore', () => {
  it('issues ids unique across streams and replays a stream after a given event', () => {
    const s = new EventStore(100, 1 << 20);
    const a0 = s.append('r1', 'a0');
    const b0 = s.append('r2', 'b0');
    const a1 = s.append('r1', 'a1', true);
    expect(new Set([a0, b0, a1]).size).toBe(3);
    const parsed = EventStore.parse(a0)!;
    expect(parsed.streamId).toBe('r1');
    const replay = s.after(parsed.streamId, parsed.seq)!;
    expect(replay.events.map((e) => e.data)).toEqual(['a1']);
    expect(replay.done).toBe(true);
    expect(s.after('r2', -1)!.events.map((e) => e.data)).toEqual(['b0']);
    expect(s.after('nope', 0)).toBeUndefined();
  });

  it('priming marks take an id but replay nothing', () => {
    const s = new EventStore(100, 1 << 20);
    const prime = s.mark('r1');
    s.append('r1', 'x');
    const p = EventStore.parse(prime)!;
    expect(s.after('r1', p.seq)!.events.map((e) => e.data)).toEqual(['x']);
  });

  it('evicts the oldest events beyond its count and byte caps', () => {
    const s = new EventStore(3, 1 << 20);
    for (let i = 0; i < 5; i++) s.append('g', `e${i}`);
    expect(s.size).toBe(3);
    expect(s.after('g', -1)!.events.map((e) => e.data)).toEqual(['e2', 'e3', 'e4']);
    const b = new EventStore(100, 10);
    b.append('g', '12345');
    b.append('g', '67890');
    b.append('g', 'abc');
    expect(b.after('g', -1)!.events.map((e) => e.data)).toEqual(['67890', 'abc']);
    expect(b.evicted).toBe(1);
  });

  it('rejects ids it could not have issued', () => {
    expect(EventStore.parse('nonsense')).toBeUndefined();
    expect(EventStore.parse('r1_x')).toBeUndefined();
    expect(EventStore.parse('_1')).toBeUndefined();
  });
});
