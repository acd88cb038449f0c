/**
 * Writes a run's results: `<timestamp>.json` (kept), and `latest.json`, `latest.md`, `latest.svg`
 * (replaced) in the output folder.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { markdown } from './markdown.js';
import { chartSvg } from './svg.js';
import type { SuiteResults } from './types.js';

export { markdown, readmeMarkdown, formatCell, ratio } from './markdown.js';
export { chartSvg } from './svg.js';
export type { SuiteResults } from './types.js';
export { SERVER_DESCRIPTIONS } from './types.js';

export interface WrittenReport {
  json: string;
  latestJson: string;
  markdown: string;
  svg: string;
}

/** "2025-01-31T12-34-56Z": an ISO timestamp usable as a file name everywhere. */
export function stamp(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

export function writeReport(results: SuiteResults, outDir: string): WrittenReport {
  mkdirSync(outDir, { recursive: true });
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const paths: WrittenReport = {
    json: join(outDir, `${stamp(results.startedAt)}.json`),
    latestJson: join(outDir, 'latest.json'),
    markdown: join(outDir, 'latest.md'),
    svg: join(outDir, 'latest.svg'),
  };
  writeFileSync(paths.json, json);
  writeFileSync(paths.latestJson, json);
  writeFileSync(paths.markdown, markdown(results, { chartHref: 'latest.svg', headingLevel: 1 }));
  writeFileSync(paths.svg, chartSvg(results));
  return paths;
}
