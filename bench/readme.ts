/**
 * Puts the latest results into README.md, between `<!-- bench:start -->` and `<!-- bench:end -->`:
 * the machine line, the chart, the goals and a summary table, with a link to the full report.
 * A README without the markers is left alone.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { readmeMarkdown } from './report/markdown.js';
import type { SuiteResults } from './report/types.js';

export const START = '<!-- bench:start -->';
export const END = '<!-- bench:end -->';

export type ReadmeOutcome = 'updated' | 'unchanged' | 'no-markers' | 'missing';

/** Replaces the marked section of `text`; undefined when the markers are missing or out of order. */
export function replaceSection(text: string, section: string): string | undefined {
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < 0 || b < a) return undefined;
  return `${text.slice(0, a + START.length)}\n${section.trimEnd()}\n${text.slice(b)}`;
}

/** Hrefs relative to the README: the chart (bench/results/latest.svg) and the full report (latest.md). */
export function updateReadme(readmePath: string, results: SuiteResults, hrefs: { chartHref: string; detailsHref: string }): ReadmeOutcome {
  let text: string;
  try {
    text = readFileSync(readmePath, 'utf8');
  } catch {
    return 'missing';
  }
  const next = replaceSection(text, readmeMarkdown(results, hrefs));
  if (next === undefined) return 'no-markers';
  if (next === text) return 'unchanged';
  writeFileSync(readmePath, next);
  return 'updated';
}
