/**
 * The shape of the code, checked by `npm test` (test/architecture.test.ts):
 *
 * - no import cycles;
 * - nothing outside test/ imports test/ (the benchmark starts the loopback fakes of test/support
 *   as programs, it does not import them);
 * - thread boundaries: a file's thread is told by the folder it is in — main/, actor/, host/,
 *   shared/ (at src/ or in an integration, src/integrations/<name>/…). main-side code never imports
 *   actor- or host-side code (types aside), and so on; shared code imports only shared code.
 *   src/cli.ts dispatches to the programs (serve/stdio, bench, computer-server) and may import any.
 */
const main = '^src/(main|integrations/[^/]+/main)/';
const actor = '^src/(actor|integrations/[^/]+/actor)/';
const host = '^src/(host|integrations/[^/]+/host)/';
const shared = '^src/(shared|integrations/[^/]+/shared)/';

const crossing = (name, from, to, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: to, dependencyTypesNot: ['type-only'] },
});

module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', comment: 'Import cycles make start order and ownership unclear.', from: {}, to: { circular: true } },
    {
      name: 'no-test-imports',
      severity: 'error',
      comment: 'Only tests import test code.',
      from: { pathNot: '^test/' },
      to: { path: '^test/' },
    },
    crossing('main-not-actor', main, actor, 'The main thread names actor-side modules by URL (for the threads to load), never imports them.'),
    crossing('main-not-host', main, host, 'The main thread names host-side modules by URL, never imports them.'),
    crossing('actor-not-main', actor, main, 'Actor threads talk to the main thread by messages only.'),
    crossing('actor-not-host', actor, host, 'Actor threads reach resources through leases (RPC over a port), not their code.'),
    crossing('host-not-main', host, main, 'Resource hosts talk to the main thread by messages only.'),
    crossing('host-not-actor', host, actor, 'Resource hosts serve leases; they never run toolset code.'),
    {
      name: 'shared-only-shared',
      severity: 'error',
      comment: 'Shared code runs on any thread: it may import only shared code (and packages).',
      from: { path: shared },
      to: { path: '^src/', pathNot: shared, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'workers-their-thread',
      severity: 'error',
      comment: 'A worker entry point wires its own thread only.',
      from: { path: '^workers/session' },
      to: { path: '^src/', pathNot: `${actor}|${shared}`, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'resource-host-worker-its-thread',
      severity: 'error',
      from: { path: '^workers/resource-host' },
      to: { path: '^src/', pathNot: `${host}|${shared}`, dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|bench/results)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
