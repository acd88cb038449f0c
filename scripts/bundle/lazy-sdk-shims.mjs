// Stands in for `@modelcontextprotocol/server/_shims` inside the session worker bundle (see
// scripts/bundle-workers.mjs): the same exports, but the SDK's Node shims — the AJV-backed JSON
// Schema validator, with ajv, its 2019/2020 dialects and ajv-formats bundled in — are evaluated on
// the first schema validation rather than when the thread boots. Most sessions never validate a
// JSON Schema (the server does it for elicitation results and JSON-Schema tool definitions), and
// evaluating those modules cost every session thread about 1 MB of heap.
import process from 'node:process';

let Real;
/** The SDK's own DefaultJsonSchemaValidator, its module evaluated on first use. */
function real() {
  // A require() of the real module: esbuild wraps it (and what only it imports) to run lazily.
  Real ??= require('mcp-actors:sdk-shims').DefaultJsonSchemaValidator;
  return Real;
}

export class DefaultJsonSchemaValidator {
  #ajv;
  #inner;
  constructor(ajv) {
    this.#ajv = ajv;
  }
  #validator() {
    this.#inner ??= new (real())(this.#ajv);
    return this.#inner;
  }
  get ajv() {
    return this.#validator().ajv;
  }
  getValidator(schema) {
    return this.#validator().getValidator(schema);
  }
}

export { process };
