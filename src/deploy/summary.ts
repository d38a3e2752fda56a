import { formatDuration } from '../core/inputs.js';

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

/**
 * Escapes text for a GitHub-flavoured Markdown table cell or line, and no more than that, so the
 * raw summary stays readable (`rolled-back`, `sample-app`, `ready...` as they are): backslash
 * before the characters that start inline markup (\\ ` * _ [ ] | ~), before the `://` of a URL (no
 * autolink), and before a character that would start a block at the beginning of a line (# - + > =
 * or the dot of `1.`); entity-encodes < > & (no HTML); keeps a cell on one line.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|~])/g, '\\$1')
    .replace(/:\/\//g, '\\://')
    .replace(/^(\s*)([#+=-])/, '$1\\$2')
    .replace(/^(\s*\d+)\./, '$1\\.')
    .replace(/\r?\n/g, '<br>');
}

/** A link whose URL is kept to http(s) and whose text is escaped. */
export function markdownLink(text: string, url: string): string {
  if (!/^https?:\/\//i.test(url)) return escapeMarkdown(text);
  return `[${escapeMarkdown(text)}](${url.replace(/[()\s<>]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)})`;
}

/**
 * An inline code span for a table cell: readable raw and rendered (no backslashes in image
 * references). The fence is longer than any run of backticks inside; pipes are escaped, as GFM
 * tables require even in code; a newline becomes a space.
 */
export function codeSpan(text: string): string {
  const t = text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
  const longest = Math.max(0, ...(t.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = t.startsWith('`') || t.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${t}${pad}${fence}`;
}

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
  for (const n of input.notes ?? []) out.push(escapeMarkdown(n), '');
  return out.join('\n');
}
