import { codeSpan, escapeMarkdown, formatWhen, markdownLink } from '../core/index.js';
import { renderDeploySummary, type WorkloadRow } from '../deploy/index.js';
import type { FeatureEnvResult } from './context.js';

/** The job summary of a feature-environment run. */
export function renderFeatureEnvSummary(
  r: FeatureEnvResult,
  o: { rows?: WorkloadRow[]; fromPool?: boolean; database?: string | undefined; now?: number } = {},
): string {
  const title = r.number
    ? `Feature environment #${r.number}: ${r.status}`
    : `Feature environments: ${r.status}`;
  const out = [`## ${escapeMarkdown(title)}`, ''];
  const facts: string[] = [];
  if (r.namespace)
    facts.push(`| Namespace | ${codeSpan(r.namespace)}${o.fromPool ? ' (from the warm pool)' : ''} |`);
  if (r.url) facts.push(`| URL | ${markdownLink(r.url, r.url)} |`);
  if (r.readySeconds) facts.push(`| Ready in | ${escapeMarkdown(r.readySeconds)} s |`);
  if (r.expiresAt)
    facts.push(
      `| Expires | ${escapeMarkdown(formatWhen(r.expiresAt, o.now ?? Date.now()))} (${codeSpan(r.expiresAt)}) |`,
    );
  if (o.database) facts.push(`| Database | ${codeSpan(o.database)} |`);
  facts.push(`| What happened | ${escapeMarkdown(r.reason)} |`);
  if (r.readyStats)
    facts.push(
      `| From the label to ready | p50 ${r.readyStats.p50} s, p90 ${r.readyStats.p90} s, over the last ${r.readyStats.count} new environment(s) (${r.readyStats.fromPool} from the warm pool) |`,
    );
  out.push('| | |', '| --- | --- |', ...facts, '');
  if (r.failure) out.push(`**Failed:** ${escapeMarkdown(r.failure)}`, '');
  if (o.rows?.length)
    out.push(renderDeploySummary({ title: 'Services', rows: o.rows }).replace(/^## /, '### '));
  for (const [label, list] of [
    ['Removed', r.removed],
    ['Put to sleep', r.slept],
    ['Kept', r.kept],
  ] as const) {
    if (!list?.length) continue;
    out.push(`### ${label}`, '', '| Namespace | Pull request | Why |', '| --- | --- | --- |');
    for (const e of list)
      out.push(
        `| ${codeSpan(e.namespace)} | ${e.number ? `#${e.number}` : '–'} | ${escapeMarkdown(e.why)} |`,
      );
    out.push('');
  }
  return out.join('\n');
}
