import { codeSpan, escapeMarkdown, markdownLink, formatDuration, formatWhen } from '../core/index.js';

/**
 * The one sticky PR comment of an environment (found by its hidden marker, never a second one):
 * each service's URL, the images under test, the links, the expiry and the time to ready; or, after
 * down, that it was removed and why.
 */
export const COMMENT_MARKER = 'feature-env';

export interface UpComment {
  number: number;
  sha: string;
  namespace: string;
  urls: Array<{ service: string; url: string }>;
  images: Array<{ workload: string; image: string }>;
  links: Array<[string, string]>;
  expiresAt: string;
  readyMs: number;
  fromPool: boolean;
  updated: boolean;
  database?: string;
  runUrl?: string;
  /** Now (ms), for times written for people. */
  now: number;
}

export function renderUpComment(c: UpComment): string {
  const out = [
    `### Feature environment for #${c.number} is ${c.updated ? 'updated' : 'ready'}`,
    '',
    `Commit ${codeSpan(c.sha.slice(0, 12))} in namespace ${codeSpan(c.namespace)}, ready in ${formatDuration(c.readyMs)}${c.fromPool ? ' (from the warm pool)' : ''}.`,
    '',
  ];
  if (c.urls.length) {
    out.push('| Service | URL |', '| --- | --- |');
    for (const u of c.urls) out.push(`| ${escapeMarkdown(u.service)} | ${markdownLink(u.url, u.url)} |`);
    out.push('');
  }
  if (c.images.length) {
    out.push('Images under test:', '');
    for (const i of c.images) out.push(`- ${escapeMarkdown(i.workload)}: ${codeSpan(i.image)}`);
    out.push('');
  }
  if (c.database)
    out.push(`Database: ${codeSpan(c.database)} (its credentials are in the namespace's Secret).`, '');
  if (c.links.length) out.push(c.links.map(([name, url]) => markdownLink(name, url)).join(' · '), '');
  out.push(
    `Expires ${escapeMarkdown(formatWhen(c.expiresAt, c.now))} unless the pull request is updated before; remove the label to tear it down now.${c.runUrl ? ` ${markdownLink('Run', c.runUrl)}.` : ''}`,
  );
  return out.join('\n');
}

/** New code from a fork while allow-forks: the label was taken off until someone reads the code. */
export function renderWithdrawnComment(o: {
  number: number;
  from: string;
  label: string;
  permission: string;
  sha?: string;
}): string {
  return [
    `### Feature environment for #${o.number}: the label ${codeSpan(o.label)} was removed`,
    '',
    `New code came to this pull request from ${escapeMarkdown(o.from)}${o.sha ? ` (head ${codeSpan(o.sha.slice(0, 12))})` : ''}. A feature environment runs that code with this repository's credentials, so it is not deployed: someone with the permission ${codeSpan(o.permission)} on the repository must read the new code and then add the label ${codeSpan(o.label)} again.`,
    '',
    'No environment is made or updated for this code; an environment made earlier is not updated, and without the label it is removed at the next reap.',
  ].join('\n');
}

export function renderDownComment(o: {
  number: number;
  namespace: string;
  reason: string;
  stillTerminating?: boolean;
}): string {
  return [
    `### Feature environment for #${o.number} was removed`,
    '',
    `Namespace ${codeSpan(o.namespace)} ${o.stillTerminating ? 'is being deleted' : 'is gone'}: ${escapeMarkdown(o.reason)}. Add the label again for a new one.`,
  ].join('\n');
}
