import { formatDuration, codeSpan, escapeMarkdown, escapeMarkdownLine, markdownLink } from '../core/index.js';

/**
 * The job summary of a deploy: one row per workload with its images (old -> new), how long its
 * rollout took and how it ended, then the link to the GitHub Deployment. Every value from a user or
 * a cluster is escaped, so an image, a name or a message cannot break the table or inject markup.
 */

export type WorkloadResult =
  'success' | 'failed' | 'rolled-back' | 'dry-run' | 'timed-out' | 'not-watched' | 'unchanged' | 'skipped';

export interface WorkloadRow {
  kind: string;
  namespace?: string;
  name: string;
  /** One per container whose image is known: before (undefined for a new workload) and after. */
  images: Array<{ container?: string; from?: string; to: string }>;
  /** Rollout duration; undefined when it was not watched. */
  durationMs?: number;
  result: WorkloadResult;
  /** A short note: the failure reason, "created by this run: not rolled back". */
  note?: string;
}

export interface SummaryInput {
  title?: string;
  rows: WorkloadRow[];
  /** The overall result: success, failed, rolled-back, dry-run. */
  result?: string;
  deployment?: { url: string; environment?: string; id?: number | string };
  /** Extra lines under the table (escaped). */
  notes?: string[];
}

const RESULT_TEXT: Record<WorkloadResult, string> = {
  success: '✅ success',
  failed: '❌ failed',
  'rolled-back': '↩️ rolled back',
  'dry-run': '🧪 dry run',
  'timed-out': '⏱️ timed out',
  'not-watched': '➖ applied, no rollout',
  unchanged: '➖ unchanged (not written)',
  skipped: '➖ skipped',
};

function imageCell(images: WorkloadRow['images']): string {
  if (images.length === 0) return '';
  const multi = images.length > 1;
  return images
    .map((i) => {
      const who = multi && i.container ? `${escapeMarkdown(i.container)}: ` : '';
      if (i.from === undefined) return `${who}${codeSpan(i.to)} (new)`;
      if (i.from === i.to) return `${who}${codeSpan(i.to)} (unchanged)`;
      return `${who}${codeSpan(i.from)} → ${codeSpan(i.to)}`;
    })
    .join('<br>');
}

/** The Markdown of the deploy summary. */
export function renderDeploySummary(input: SummaryInput): string {
  const out: string[] = [`## ${escapeMarkdown(input.title ?? 'Deploy')}`, ''];
  if (input.result) out.push(`Result: **${escapeMarkdown(input.result)}**`, '');
  if (input.rows.length === 0) out.push('No workloads were applied.', '');
  else {
    out.push('| Workload | Image (old → new) | Rollout | Result |', '| --- | --- | --- | --- |');
    for (const r of input.rows) {
      const workload = `${r.kind}/${r.namespace ? `${r.namespace}/` : ''}${r.name}`;
      const result = RESULT_TEXT[r.result] + (r.note ? `: ${escapeMarkdown(r.note)}` : '');
      out.push(
        `| ${codeSpan(workload)} | ${imageCell(r.images)} | ${r.durationMs === undefined ? '–' : formatDuration(r.durationMs)} | ${result} |`,
      );
    }
    out.push('');
  }
  if (input.deployment?.url) {
    const label = input.deployment.environment
      ? `GitHub Deployment to ${input.deployment.environment}`
      : 'GitHub Deployment';
    out.push(`${markdownLink(label, input.deployment.url)}`, '');
  }
  for (const n of input.notes ?? []) out.push(escapeMarkdownLine(n), '');
  return out.join('\n');
}
