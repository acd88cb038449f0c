// comlink ships ESM as .mjs files with .d.ts typings beside them and no "exports" map, so
// NodeNext resolution cannot pair them; these declarations do.
declare module 'comlink/dist/esm/comlink.mjs' {
  export * from 'comlink/dist/esm/comlink.js';
}
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink/dist/esm/protocol.js';
  import type { MessagePort } from 'node:worker_threads';
  export default function nodeEndpoint(nep: MessagePort): Endpoint;
}
