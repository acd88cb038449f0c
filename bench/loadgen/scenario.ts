/**
 * What to call: a single tool with fixed arguments, or a weighted mix of tools read from a
 * scenario file, drawn with a seeded PRNG so the same seed always yields the same sequence.
 *
 * Scenario file format (JSON):
 *   { "mix": [ { "tool": "echo", "args": { "text": "hi" }, "weight": 3 },
 *              { "tool": "add",  "args": { "a": 1, "b": 2 } } ] }
 * `args` defaults to {}, `weight` to 1 (any positive finite number).
 */
import { readFileSync } from 'node:fs';

export interface MixEntry {
  tool: string;
  args?: Record<string, unknown>;
  weight?: number;
}

/** A mix entry with its request body pre-serialized up to the id: body = prefix + id + "}". */
export interface PreparedCall {
  /** Index of the tool among the mix's distinct tool names (entries may repeat a tool). */
  readonly slot: number;
  readonly tool: string;
  readonly prefix: string;
}

/** The per-request envelope of an MCP 2026-07-28 request (`params._meta`). */
export function modernMeta(protocolVersion: string): Record<string, unknown> {
  return {
    'io.modelcontextprotocol/protocolVersion': protocolVersion,
    'io.modelcontextprotocol/clientCapabilities': {},
    'io.modelcontextprotocol/clientInfo': { name: 'mcp-actors-bench', version: '0.1.0' },
  };
}

export class ScenarioError extends Error {}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Validates a mix (from a file or from code) and fills in defaults. */
export function validateMix(raw: unknown, where = 'mix'): Required<MixEntry>[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new ScenarioError(`${where} must be a non-empty array of { tool, args?, weight? }`);
  }
  return raw.map((e: unknown, i) => {
    if (!isPlainObject(e)) throw new ScenarioError(`${where}[${i}] must be an object`);
    const { tool, args = {}, weight = 1 } = e;
    if (typeof tool !== 'string' || tool === '') {
      throw new ScenarioError(`${where}[${i}].tool must be a non-empty string`);
    }
    if (!isPlainObject(args)) throw new ScenarioError(`${where}[${i}].args must be a JSON object`);
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
      throw new ScenarioError(`${where}[${i}].weight must be a positive number`);
    }
    for (const key of Object.keys(e)) {
      if (key !== 'tool' && key !== 'args' && key !== 'weight') {
        throw new ScenarioError(`${where}[${i}] has unknown field "${key}"`);
      }
    }
    return { tool, args, weight };
  });
}

/** Reads and validates a scenario file. Throws ScenarioError with a readable message. */
export function loadScenarioFile(path: string): Required<MixEntry>[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ScenarioError(`cannot read scenario file ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ScenarioError(`scenario file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(doc) || !('mix' in doc)) {
    throw new ScenarioError(`scenario file ${path} must be an object with a "mix" array`);
  }
  return validateMix(doc.mix, `${path}: mix`);
}

/** The calls of a mix with their bodies serialized up to the id; `modern` adds the 2026-07-28 envelope. */
export function prepareCalls(mix: Required<MixEntry>[], modern?: { protocolVersion: string }): PreparedCall[] {
  const slots = new Map<string, number>();
  return mix.map((e) => {
    let slot = slots.get(e.tool);
    if (slot === undefined) {
      slot = slots.size;
      slots.set(e.tool, slot);
    }
    return {
      slot,
      tool: e.tool,
      prefix: `{"jsonrpc":"2.0","method":"tools/call","params":${JSON.stringify({
        name: e.tool,
        arguments: e.args,
        ...(modern && { _meta: modernMeta(modern.protocolVersion) }),
      })},"id":`,
    };
  });
}

/** mulberry32: a small, fast 32-bit PRNG; returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Returns a function that draws mix indices according to the weights. */
export function weightedPicker(weights: number[], seed: number): () => number {
  if (weights.length === 1) return () => 0;
  const cumulative: number[] = [];
  let total = 0;
  for (const w of weights) {
    total += w;
    cumulative.push(total);
  }
  const rand = seededRandom(seed);
  const last = weights.length - 1;
  return () => {
    const r = rand() * total;
    // Mixes are small: a linear scan beats a binary search for a handful of entries.
    for (let i = 0; i < last; i++) if (r < cumulative[i]!) return i;
    return last;
  };
}

/** The first n tool names a seeded mix yields (what the load generator will call, in order). */
export function pickSequence(mix: MixEntry[], seed: number, n: number): string[] {
  const entries = validateMix(mix);
  const pick = weightedPicker(
    entries.map((e) => e.weight),
    seed,
  );
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(entries[pick()]!.tool);
  return out;
}
