/**
 * The benchmark suite (`npm run bench`): its report pieces on synthetic results (fast), and a smoke
 * run of the real entry point — `node dist/bench/run.js --quick --only echo` against both servers —
 * checking that the JSON, the Markdown and the SVG are written and well-formed. No timing is
 * asserted: the machine is shared; only that the figures exist and are positive.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runBench } from '../support/bench-run.js';
import { replaceSection, START, END } from '../../bench/readme.js';
import { chartSvg, markdown, readmeMarkdown, type SuiteResults } from '../../bench/report/index.js';
import type { Metric } from '../../bench/scenarios/types.js';
import { figure } from '../../bench/scenarios/util.js';


interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
}

/**
 * A strict little XML reader (enough for our SVG): elements, attributes in double or single quotes,
 * text, comments, processing instructions. Throws on anything ill-formed: a mismatched or unclosed
 * tag, a bad attribute, a stray `<` or `&`.
 */
function parseXml(src: string): XmlNode {
  let i = 0;
  const root: XmlNode = { name: '#document', attrs: {}, children: [], text: '' };
  const stack: XmlNode[] = [root];
  const fail = (m: string): never => {
    throw new Error(`XML: ${m} at offset ${i}: ${JSON.stringify(src.slice(i, i + 40))}`);
  };
  const checkText = (t: string) => {
    if (/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(t)) fail('bad entity');
  };
  while (i < src.length) {
    if (src.startsWith('<!--', i)) {
      const e = src.indexOf('-->', i);
      if (e < 0) fail('unclosed comment');
      i = e + 3;
    } else if (src.startsWith('<?', i)) {
      const e = src.indexOf('?>', i);
      if (e < 0) fail('unclosed processing instruction');
      i = e + 2;
    } else if (src.startsWith('</', i)) {
      const m = /^<\/([A-Za-z_][\w:.-]*)\s*>/.exec(src.slice(i));
      if (!m) fail('bad end tag');
      const open = stack.pop();
      if (!open || open.name !== m![1]) fail(`</${m![1]}> closes <${open?.name}>`);
      i += m![0].length;
    } else if (src[i] === '<') {
      const m = /^<([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/.exec(src.slice(i));
      if (!m) fail('bad start tag');
      const attrs: Record<string, string> = {};
      for (const a of m![2]!.matchAll(/([A-Za-z_][\w:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
        if (a[1]! in attrs) fail(`duplicate attribute ${a[1]}`);
        const v = a[2] ?? a[3] ?? '';
        checkText(v);
        attrs[a[1]!] = v;
      }
      const node: XmlNode = { name: m![1]!, attrs, children: [], text: '' };
      stack[stack.length - 1]!.children.push(node);
      if (m![3] !== '/') stack.push(node);
      i += m![0].length;
    } else {
      const e = src.indexOf('<', i);
      const t = src.slice(i, e < 0 ? src.length : e);
      checkText(t);
      if (stack.length === 1 && t.trim() !== '') fail('text outside the root element');
      stack[stack.length - 1]!.text += t;
      i = e < 0 ? src.length : e;
    }
  }
  if (stack.length !== 1) fail(`unclosed <${stack[stack.length - 1]!.name}>`);
  const elements = root.children;
  if (elements.length !== 1) fail(`${elements.length} root elements`);
  return elements[0]!;
}

function* walk(n: XmlNode): Generator<XmlNode> {
  yield n;
  for (const c of n.children) yield* walk(c);
}

function classes(n: XmlNode): string[] {
  return (n.attrs.class ?? '').split(/\s+/).filter(Boolean);
}

function syntheticResults(): SuiteResults {
  const m = (id: string, label: string, panel: 'throughput' | 'p99' | 'timing', ours: Metric['ours'], baseline: Metric['baseline']): Metric => ({
    id,
    label,
    unit: panel === 'throughput' ? 'req/s' : 'ms',
    better: panel === 'throughput' ? 'higher' : 'lower',
    ours,
    baseline,
    chart: { panel, label },
  });
  return {
    schema: 1,
    startedAt: '2025-01-01T00:00:00.000Z',
    finishedAt: '2025-01-01T00:10:00.000Z',
    durationSec: 600,
    options: { rounds: 3, quick: false, only: null, seed: 1, budgetSec: 900 },
    machine: { cores: 2, cpuModel: 'Test CPU <&>', node: 'v20.0.0', platform: 'linux', kernel: '6', arch: 'x64', totalMemoryGB: 8, loadAverageAtStart: [0.5, 0.4, 0.3] },
    servers: { ours: 'ours', baseline: 'baseline' },
    scenarios: [
      {
        name: 'synthetic',
        title: 'Synthetic & <special>',
        definition: 'made up',
        durationSec: 1,
        rounds: 3,
        metrics: [
          m('a.tp', 'a | b', 'throughput', figure([100, 120, 110]), figure([50, 55, 45])),
          m('a.p99', 'a p99', 'p99', figure([2, 3, 2.5]), figure([20, 30, 25])),
          m('a.rec', 'recovery', 'timing', figure([2500, 2600, 2550]), { na: 'hangs forever', never: true }),
          m('a.cold', 'cold', 'timing', figure([300, 310, 320]), { na: 'no threads' }),
        ],
        goals: [{ id: 'g', text: 'goal & more', measured: '2×', met: true }],
        notes: ['a note'],
      },
    ],
    goals: [
      { id: 'g', text: 'goal & more', measured: '2×', met: true },
      { id: 'h', text: 'other goal', measured: 'not measured', met: null },
    ],
  };
}

describe('report pieces', () => {
  it('figure(): median of the rounds with min and max', () => {
    expect(figure([3, 1, 2])).toMatchObject({ median: 2, min: 1, max: 3, values: [3, 1, 2] });
    expect(figure([4, 1, 2, 3]).median).toBe(2.5);
  });

  it('the chart is well-formed SVG with both series, "never" and n/a cells', () => {
    const svg = parseXml(chartSvg(syntheticResults()));
    expect(svg.name).toBe('svg');
    const all = [...walk(svg)];
    expect(all.filter((n) => n.name === 'g' && classes(n).includes('panel')).map((n) => n.attrs['data-panel'])).toEqual(['throughput', 'p99', 'timing']);
    expect(all.filter((n) => classes(n).includes('legend')).map((n) => n.attrs['data-series'])).toEqual(['ours', 'baseline']);
    const bars = all.filter((n) => classes(n).includes('bar'));
    const value = (metric: string, server: string) => bars.find((b) => b.attrs['data-metric'] === metric && b.attrs['data-server'] === server)?.attrs['data-value'];
    expect(value('a.tp', 'ours')).toBe('110');
    expect(value('a.tp', 'baseline')).toBe('50');
    expect(value('a.rec', 'baseline')).toBe('never');
    expect(value('a.cold', 'baseline')).toBe('n/a');
    for (const b of bars.filter((n) => n.name === 'rect')) {
      expect(Number(b.attrs.height)).toBeGreaterThan(0);
      expect(Number.isFinite(Number(b.attrs.y))).toBe(true);
    }
  });

  it('the Markdown has the goals and one table per scenario, with spread and ratio', () => {
    const md = markdown(syntheticResults(), { chartHref: 'latest.svg' });
    expect(md).toContain('![');
    expect(md).toContain('(latest.svg)');
    expect(md).toContain('| goal & more | 2× | ✅ met |');
    expect(md).toContain('| other goal | not measured | ❔ not measured |');
    expect(md).toContain('| a \\| b, req/s ↑ | 110 [100–120] | 50.0 [45.0–55.0] | 2.20× |');
    expect(md).toContain('**never**');
    expect(md).toContain('n/a — *no threads*');
    expect(md).toContain('Test CPU <&>');
  });

  it('the README section: machine line, chart, goals, one summary table and a link to the full report', () => {
    const md = readmeMarkdown(syntheticResults(), { chartHref: 'bench/results/latest.svg', detailsHref: 'bench/results/latest.md' });
    expect(md).toContain('Taken 2025-01-01 00:00 UTC on: 2 cores, Test CPU <&>');
    expect(md).toContain('(bench/results/latest.svg)');
    expect(md).toContain('| Synthetic & <special> | a \\| b, req/s ↑ | 110 [100–120] |');
    expect(md).toContain('[bench/results/latest.md](bench/results/latest.md)');
    expect(md).not.toMatch(/^#/m);
  });

  it('the README section is replaced between the markers, and only there', () => {
    const text = `# x\n\nbefore\n${START}\nold\n${END}\nafter\n`;
    expect(replaceSection(text, 'new table\n')).toBe(`# x\n\nbefore\n${START}\nnew table\n${END}\nafter\n`);
    expect(replaceSection('# no markers\n', 'x')).toBeUndefined();
    expect(replaceSection(`${END}\n${START}\n`, 'x')).toBeUndefined();
  });
});

describe('npm run bench -- --quick --only echo (real servers)', () => {
  const out = mkdtempSync(join(tmpdir(), 'mcp-actors-bench-test-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it(
    'writes the JSON, the Markdown table and a readable SVG chart with both servers',
    async () => {
      const { code, stdout, stderr } = await runBench(['--quick', '--only', 'echo', '--out', out]);
      expect(code, `${stdout}\n${stderr}`).toBe(0);
      expect(stdout).toContain('bench finished in');

      const files = readdirSync(out);
      expect(files).toEqual(expect.arrayContaining(['latest.json', 'latest.md', 'latest.svg']));
      expect(files.some((f) => /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.json$/.test(f))).toBe(true);

      const results = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as SuiteResults;
      expect(results.options).toMatchObject({ quick: true, only: ['echo'], rounds: 1 });
      expect(results.machine.cores).toBeGreaterThan(0);
      expect(results.machine.node).toBe(process.version);
      expect(results.scenarios.map((s) => s.name)).toEqual(['echo']);
      const echo = results.scenarios[0]!;
      expect(echo.error).toBeUndefined();
      const charted = echo.metrics.filter((m) => m.chart !== undefined);
      expect(charted.length).toBe(6); // 3 shapes × (throughput, p99)
      for (const m of echo.metrics) {
        for (const cell of [m.ours, m.baseline]) {
          expect('median' in cell, `${m.id}: ${JSON.stringify(cell)}`).toBe(true);
          if ('median' in cell) expect(cell.median).toBeGreaterThan(0);
        }
      }

      const md = readFileSync(join(out, 'latest.md'), 'utf8');
      expect(md).toContain('| figure | mcp-actors | SDK baseline | ours ÷ baseline |');
      expect(md).toMatch(/\| echo 1×1 throughput, req\/s ↑ \| [\d,.]+ \| [\d,.]+ \| [\d.]+× \|/);
      expect(md).toContain('(latest.svg)');

      const svg = parseXml(readFileSync(join(out, 'latest.svg'), 'utf8'));
      expect(svg.name).toBe('svg');
      const all = [...walk(svg)];
      expect(all.filter((n) => classes(n).includes('legend')).map((n) => n.attrs['data-series'])).toEqual(['ours', 'baseline']);
      const bars = all.filter((n) => n.name === 'rect' && classes(n).includes('bar'));
      expect(bars).toHaveLength(charted.length * 2);
      for (const m of charted) {
        for (const server of ['ours', 'baseline'] as const) {
          const bar = bars.find((b) => b.attrs['data-metric'] === m.id && b.attrs['data-server'] === server);
          expect(bar, `${m.id} ${server}`).toBeDefined();
          const cell = m[server];
          expect(Number(bar!.attrs['data-value'])).toBe('median' in cell ? cell.median : NaN);
          expect(Number(bar!.attrs['data-value'])).toBeGreaterThan(0);
          expect(Number(bar!.attrs.height)).toBeGreaterThan(0);
        }
      }
    },
    180_000,
  );
});
