import { C2CError, errorMessage } from './errors.js';

/**
 * Markdown for job summaries and PR comments: every value from a user or a cluster is escaped, so
 * an image, a name or a message cannot break a table or inject markup.
 */

/**
 * Escapes text for a GitHub-flavoured Markdown table cell or line, and no more than that, so the
 * raw summary stays readable (`rolled-back`, `sample-app`, `ready...` as they are): backslash
 * before the characters that start inline markup (\\ ` * _ [ ] | ~), before the `://` of a URL (no
 * autolink), and before a character that would start a block at the beginning of a line (# - + > =
 * or the dot of `1.`); entity-encodes < > & (no HTML); keeps a cell on one line.
 */
export function escapeMarkdown(text: string, o: { autolinks?: boolean } = {}): string {
  const out = text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|~])/g, '\\$1')
    .replace(/\r?\n/g, '<br>');
  return o.autolinks === false ? out : out.replace(/:\/\//g, '\\://');
}

/**
 * A paragraph line: escapeMarkdown, plus a backslash before what would start a block at the
 * beginning of the line (# - + > = or the dot of `1.`). Table cells need none of that.
 */
export function escapeMarkdownLine(text: string): string {
  return escapeMarkdown(text)
    .replace(/^(\s*)([#+=-])/, '$1\\$2')
    .replace(/^(\s*\d+)\./, '$1\\.');
}

export function markdownLink(text: string, url: string): string {
  if (!/^https?:\/\//i.test(url)) return escapeMarkdown(text);
  // Inside a link's text no autolink is made: a URL as the text needs no escape.
  return `[${escapeMarkdown(text, { autolinks: false })}](${url.replace(/[()\s<>]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)})`;
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

/**
 * The job summary of a step that failed before it could write its own (bad input, manifests the
 * cluster rejects): what was wrong, each problem on its own line with its file and line.
 */
export function renderFailureSummary(title: string, err: unknown): string {
  const out = [
    `## ${escapeMarkdown(title)}`,
    '',
    'Result: **failed**, nothing was changed by this step unless said below.',
    '',
  ];
  const problems = (err as { problems?: unknown }).problems;
  const first = errorMessage(err).split('\n')[0]!;
  out.push(escapeMarkdownLine(first), '');
  if (Array.isArray(problems) && problems.length) {
    out.push('| Where | Problem |', '| --- | --- |');
    for (const p of problems) {
      if (!(p instanceof C2CError)) continue;
      const where = p.where ? `${p.where.file}${p.where.line ? `:${p.where.line}` : ''}` : '';
      out.push(`| ${where ? codeSpan(where) : ''} | ${escapeMarkdown(p.message)} |`);
    }
    out.push('');
  } else {
    const rest = errorMessage(err).split('\n').slice(1).filter(Boolean);
    for (const line of rest) out.push(escapeMarkdownLine(line.trim()), '');
  }
  return out.join('\n');
}
