#!/usr/bin/env node
// Part of `npm run build`, after tsc: bundles the session actor thread (dist/workers/session.js,
// its whole module graph: our actor code, the built-in toolsets, the MCP SDK, zod) into one
// CommonJS file, dist/workers/session.bundle.cjs, and the entry that loads it with a V8 code
// cache into dist/workers/session-loader.cjs. One file instead of ~200 modules to resolve, read
// and compile is what makes a new session's thread start fast (src/shared/code-cache.ts).
// A user's toolset module stays outside the bundle (loaded with import() at boot).
import { build } from 'esbuild';
import { MODULE_WRAPPER_HEAD, MODULE_WRAPPER_TAIL } from '../dist/src/shared/code-cache.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/workers/', import.meta.url));
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // CommonJS has no import.meta: give each file its own URL (the bundle's) for new URL(…, import.meta.url).
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: "var __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  conditions: ['node', 'import'],
  mainFields: ['module', 'main'],
  // Smaller to read, parse and keep (1.73 → 0.91 MB; about 1 MB less heap per thread and faster
  // boots than whitespace-only). Stack traces map back with node --enable-source-maps.
  minifyWhitespace: true,
  minifySyntax: true,
  minifyIdentifiers: true,
  // Non-ASCII characters escaped: the loader reads the bundle as latin1 (cheaper than UTF-8).
  charset: 'ascii',
  sourcemap: 'linked',
  logLevel: 'warning',
};
/**
 * Redirects the SDK's `_shims` import to scripts/bundle/lazy-sdk-shims.mjs, which loads the real
 * one (`mcp-actors:sdk-shims`) on first use: ajv is evaluated only by threads that validate a
 * JSON Schema.
 */
const lazySdkShims = {
  name: 'lazy-sdk-shims',
  setup(b) {
    const shims = '@modelcontextprotocol/server/_shims';
    const lazy = fileURLToPath(new URL('./bundle/lazy-sdk-shims.mjs', import.meta.url));
    b.onResolve({ filter: /^mcp-actors:sdk-shims$/ }, async (args) => {
      const real = await b.resolve(shims, { kind: 'import-statement', resolveDir: args.resolveDir, pluginData: 'real' });
      if (real.errors.length > 0) return { errors: real.errors };
      return { path: real.path };
    });
    b.onResolve({ filter: /^@modelcontextprotocol\/server\/_shims$/ }, (args) => (args.pluginData === 'real' ? undefined : { path: lazy }));
  },
};
/**
 * zod's `locales` namespace (z.locales: 60 error-message translations, 259 KB of the bundle's 915
 * KB, which every thread keeps as source text) is replaced by functions that load zod's own
 * locales (its CommonJS build, from node_modules) when called. Nothing in the bundle calls them;
 * zod's default English messages (locales/en.js, imported directly) stay bundled.
 */
const zodLocalesOnDemand = {
  name: 'zod-locales-on-demand',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic|core|mini)$/.test(args.resolveDir) ? { path: join(args.resolveDir, '../locales/index.js'), namespace: 'zod-locales' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => {
      const names = [...readFileSync(args.path, 'utf8').matchAll(/export \{ default as (\w+) \} from "\.\/[\w-]+\.js";/g)];
      if (names.length < 10) throw new Error(`zod-locales-on-demand: unexpected ${args.path}`);
      const body = names.map(([, name]) => `export function ${name}() { return require('zod/v4/locales').${name}(); }`);
      return { contents: body.join('\n'), loader: 'js', resolveDir: dirname(args.path) };
    });
    b.onResolve({ filter: /^zod\/v4\/locales$/ }, () => ({ external: true }));
  },
};
// The session bundle is written already wrapped the way runCachedBundle compiles it (a CommonJS
// module function, src/shared/code-cache.ts): the loader compiles the file's text as it is read,
// instead of a wrapped copy of it (a second 0.9 MB string per thread until a full GC).
const session = await build({
  ...common,
  plugins: [lazySdkShims, zodLocalesOnDemand],
  metafile: true,
  entryPoints: [`${dist}session.js`],
  outfile: `${dist}session.bundle.cjs`,
  banner: { js: `${MODULE_WRAPPER_HEAD}${common.banner.js}` },
  footer: { js: MODULE_WRAPPER_TAIL },
});
// The loader decodes the bundle as latin1 (src/shared/code-cache.ts): a byte above 0x7f would change meaning.
const bytes = readFileSync(`${dist}session.bundle.cjs`);
const nonAscii = bytes.findIndex((b) => b > 0x7f);
if (nonAscii >= 0) throw new Error(`session.bundle.cjs is not ASCII (byte ${nonAscii}): the loader reads it as latin1`);
// What went into the bundle, for the tests (no ccxt in an actor thread, the built-ins inside).
writeFileSync(`${dist}session.bundle.inputs.json`, JSON.stringify(Object.keys(session.metafile.inputs).sort(), null, 1));
await build({ ...common, entryPoints: [`${dist}session-bundled.js`], outfile: `${dist}session-loader.cjs` });
