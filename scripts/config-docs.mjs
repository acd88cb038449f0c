#!/usr/bin/env node
/**
 * Prints the configuration reference (a Markdown table) from the one config schema:
 * keys and defaults from the runtime zod schema (dist/), descriptions from the JSDoc comment
 * on each key in the TypeScript sources. `--write` puts it into README.md between the
 * <!-- config:start --> and <!-- config:end --> markers; `--check` fails if README.md differs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Every `const X = z...` schema in the given sources, with a JSDoc map per property path. */
function commentsFrom(files) {
  const byConst = new Map(); // const name → Map(path → text)
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
    const visit = (node, constName, path) => {
      if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name)) {
        constName = node.name.text;
        path = [];
        if (!byConst.has(constName)) byConst.set(constName, new Map());
      }
      if (ts.isPropertyAssignment(node) && constName) {
        const name = node.name.getText(sf).replace(/^['"]|['"]$/g, '');
        const docs = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
        const comment = docs.map((d) => (typeof d.comment === 'string' ? d.comment : ts.getTextOfJSDocComment(d.comment) ?? '')).join(' ');
        const p = [...path, name];
        if (comment) byConst.get(constName).set(p.join('.'), comment.replace(/\s+/g, ' ').trim());
        ts.forEachChild(node.initializer, (c) => visit(c, constName, p));
        return;
      }
      ts.forEachChild(node, (c) => visit(c, constName, path));
    };
    visit(sf, undefined, []);
  }
  return byConst;
}

function unwrap(schema) {
  let s = schema;
  for (let i = 0; i < 10; i++) {
    const def = s?._zod?.def;
    if (!def) break;
    if (['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'pipe'].includes(def.type)) s = def.innerType ?? def.in ?? s;
    else break;
    if (!s) break;
  }
  return s;
}

function typeName(schema) {
  const s = unwrap(schema);
  const def = s?._zod?.def;
  if (!def) return '';
  switch (def.type) {
    case 'enum':
      return Object.values(def.entries).map((v) => `\`${v}\``).join(' \\| ');
    case 'union':
      return def.options.map((o) => typeName(o)).join(' \\| ');
    case 'literal':
      return def.values.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
    case 'array':
      return `${typeName(def.element)}[]`;
    case 'record':
      return 'map';
    default:
      return def.type;
  }
}

/** The default a schema itself declares (for keys inside optional objects, which parse({}) leaves out). */
function ownDefault(schema) {
  let s = schema;
  for (let i = 0; i < 10 && s?._zod?.def; i++) {
    const def = s._zod.def;
    if (def.type === 'default' || def.type === 'prefault') return typeof def.defaultValue === 'function' ? def.defaultValue() : def.defaultValue;
    if (!['optional', 'nullable', 'readonly'].includes(def.type)) return undefined;
    s = def.innerType;
  }
  return undefined;
}

function fmtDefault(v) {
  if (v === undefined) return '—';
  const j = JSON.stringify(v);
  return `\`${j.length > 60 ? `${j.slice(0, 57)}…` : j}\``;
}

async function main() {
  const configModule = await import(pathToFileURL(join(ROOT, 'dist/src/main/config.js')).href);
  const schema = configModule.configSchema;
  // Sub-schemas exported by their own modules, recognised by identity.
  const named = new Map();
  const sources = [join(ROOT, 'src/main/config.ts')];
  for (const [rel, mod] of [
    ['src/main/config.ts', configModule],
    ...(await Promise.all(
      ['src/integrations/ccxt/shared/config.ts', 'src/integrations/cua/shared/config.ts'].map(async (rel) => {
        try {
          return [rel, await import(pathToFileURL(join(ROOT, 'dist', rel.replace(/\.ts$/, '.js'))).href)];
        } catch {
          return [rel, undefined];
        }
      }),
    )),
  ]) {
    if (!mod) continue;
    if (rel !== 'src/main/config.ts') sources.push(join(ROOT, rel));
    for (const [k, v] of Object.entries(mod)) if (v?._zod) named.set(unwrap(v), k);
  }
  const comments = commentsFrom(sources);
  // Members of named object schemas, by identity: a derived schema (e.g. .partial()) wraps the
  // same member schemas, so its keys still find their comments.
  const memberDocs = new Map();
  for (const [schemaObj, constName] of named) {
    const def = schemaObj?._zod?.def;
    if (def?.type !== 'object') continue;
    for (const [k, v] of Object.entries(def.shape)) {
      const text = comments.get(constName)?.get(k);
      if (text) memberDocs.set(unwrap(v), text);
    }
  }
  const defaults = schema.parse({});
  const rows = [];

  const walk = (s, path, constName, constPath, dflt) => {
    const inner = unwrap(s);
    const own = named.get(inner);
    if (own && own !== constName) {
      constName = own;
      constPath = [];
    }
    const def = inner?._zod?.def;
    const key = path.join('.');
    const describe = () => comments.get(constName)?.get(constPath.join('.')) ?? memberDocs.get(inner) ?? '';
    if (def?.type === 'object') {
      if (path.length > 0) {
        const text = describe();
        if (text) rows.push({ key: `\`${key}\``, type: 'object', dflt: '', text });
      }
      for (const [k, v] of Object.entries(def.shape)) walk(v, [...path, k], constName, [...constPath, k], dflt?.[k]);
      return;
    }
    if (def?.type === 'array' && unwrap(def.element)?._zod?.def?.type === 'object') {
      rows.push({ key: `\`${key}\``, type: 'list', dflt: fmtDefault(dflt), text: describe() });
      const el = unwrap(def.element);
      for (const [k, v] of Object.entries(el._zod.def.shape)) walk(v, [...path.slice(0, -1), `${path.at(-1)}[].${k}`], named.get(el) ?? constName, named.get(el) ? [k] : [...constPath, k], undefined);
      return;
    }
    if (def?.type === 'record' && unwrap(def.valueType)?._zod?.def?.type === 'object') {
      rows.push({ key: `\`${key}\``, type: 'map', dflt: fmtDefault(dflt), text: describe() });
      const el = unwrap(def.valueType);
      for (const [k, v] of Object.entries(el._zod.def.shape)) walk(v, [...path.slice(0, -1), `${path.at(-1)}.<name>.${k}`], named.get(el) ?? constName, named.get(el) ? [k] : [...constPath, k], undefined);
      return;
    }
    rows.push({ key: `\`${key}\``, type: typeName(s), dflt: fmtDefault(dflt ?? ownDefault(s)), text: describe() });
  };
  walk(schema, [], 'configSchema', [], defaults);

  const table = ['| key | type | default | meaning |', '| --- | --- | --- | --- |', ...rows.map((r) => `| ${r.key} | ${r.type} | ${r.dflt} | ${r.text.replace(/\|/g, '\\|')} |`)].join('\n');
  const mode = process.argv[2];
  if (mode === '--write' || mode === '--check') {
    const readme = join(ROOT, 'README.md');
    const text = readFileSync(readme, 'utf8');
    const start = text.indexOf('<!-- config:start -->');
    const end = text.indexOf('<!-- config:end -->');
    if (start < 0 || end < 0) throw new Error('README.md has no <!-- config:start --> / <!-- config:end --> markers');
    const next = `${text.slice(0, start)}<!-- config:start -->\n${table}\n${text.slice(end)}`;
    if (mode === '--check') {
      if (next !== text) {
        process.stderr.write('README.md configuration table is out of date: run `npm run config-docs -- --write`\n');
        process.exit(1);
      }
      return;
    }
    writeFileSync(readme, next);
    return;
  }
  process.stdout.write(`${table}\n`);
}

await main();
