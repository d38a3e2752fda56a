import {
  codeSpan,
  escapeMarkdown,
  markdownLink,
  formatDuration,
  formatWhen,
  shortDuration,
} from '../core/index.js';

/**
 * The one sticky PR comment of an environment (found by its hidden marker, never a second one):
 * each service's URL, the images under test, the links, the expiry and the time to ready; or, after
 * down, that it was removed and why.
 */
export const COMMENT_MARKER = 'feature-env';

/** One service of the set (a workload) and how its rollout stands, for the live comment. */
export interface ServiceState {
  /** The workload's name (with its kind when not a Deployment). */
  name: string;
  state: 'waiting' | 'rolling out' | 'ready' | 'failed' | 'unchanged';
  /** The rollout's last status line, or why it failed. */
  note?: string;
}

const STATE_WORDS: Record<ServiceState['state'], string> = {
  waiting: '⏳ waiting',
  'rolling out': '🔄 rolling out',
  ready: '✅ ready',
  failed: '❌ failed',
  unchanged: '✅ unchanged, running',
};

function serviceTable(services: ServiceState[]): string[] {
  if (!services.length) return [];
  const out = ['| Service | State |', '| --- | --- |'];
  for (const s of services)
    out.push(
      `| ${escapeMarkdown(s.name)} | ${STATE_WORDS[s.state]}${s.note && s.state !== 'ready' && s.state !== 'unchanged' ? `: ${escapeMarkdown(s.note)}` : ''} |`,
    );
  return [...out, ''];
}

/** What an up does while it runs. */
export type UpStep = 'machine' | 'preparing' | 'wake' | 'build' | 'pre-deploy' | 'apply' | 'watch';

const STEP_WORDS: Record<UpStep, string> = {
  machine: 'starting its machine (an EC2 instance with Minikube) and waiting for its API server',
  preparing: 'preparing the namespace',
  wake: 'waking it up (its services were asleep)',
  build: 'building the images under test',
  'pre-deploy': 'running the pre-deploy Jobs',
  apply: 'applying the manifests',
  watch: 'waiting for the services to become ready',
};

/** While up runs: being deployed, the step, each service's state; updated as they become ready. */
export function renderDeployingComment(c: {
  number: number;
  sha: string;
  namespace?: string;
  step: UpStep;
  services: ServiceState[];
  startedAt: number;
  runUrl?: string;
}): string {
  return [
    `### Feature environment for #${c.number} is being deployed`,
    '',
    `Commit ${codeSpan(c.sha.slice(0, 12))}${c.namespace ? ` in namespace ${codeSpan(c.namespace)}` : ''}: ${STEP_WORDS[c.step]} (started ${escapeMarkdown(atTime(c.startedAt))}).${c.runUrl ? ` ${markdownLink('Run', c.runUrl)}.` : ''}`,
    '',
    ...serviceTable(c.services),
    'This comment is updated as the services become ready.',
  ].join('\n');
}

/** The up failed: which service and why (the deploy's own explanation), or what stopped it before. */
export function renderFailedComment(c: {
  number: number;
  sha: string;
  namespace?: string;
  services: ServiceState[];
  failure: string;
  now: number;
  runUrl?: string;
}): string {
  const failed = c.services.filter((s) => s.state === 'failed').map((s) => s.name);
  return [
    `### Feature environment for #${c.number}: the deploy failed${failed.length ? ` (${failed.map((f) => escapeMarkdown(f)).join(', ')})` : ''}`,
    '',
    `Commit ${codeSpan(c.sha.slice(0, 12))}${c.namespace ? ` in namespace ${codeSpan(c.namespace)}` : ''}, ${escapeMarkdown(atTime(c.now))}.${c.runUrl ? ` ${markdownLink('Run', c.runUrl)}.` : ''}`,
    '',
    // Before any service got anywhere (stopped while preparing), the table would say nothing.
    ...(c.services.some((s) => s.state !== 'waiting') ? serviceTable(c.services) : []),
    c.failure,
    '',
    'Push a fix to deploy again, or remove the label to tear the environment down.',
  ].join('\n');
}

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
  /** How old the environment's data is, in sentences (the spare's baseline, the database's source). */
  data?: string[];
  /** Private URLs: who gets in, and how automated tests do. */
  access?: string;
}

export function renderUpComment(c: UpComment): string {
  const out = [
    `### Feature environment for #${c.number} is ${c.updated ? 'updated' : 'ready'}`,
    '',
    `Commit ${codeSpan(c.sha.slice(0, 12))} in namespace ${codeSpan(c.namespace)}, ${c.updated ? 'updated' : 'ready'} in ${formatDuration(c.readyMs)}${c.fromPool ? ' (from the warm pool)' : ''}; updated ${escapeMarkdown(atTime(c.now))}.`,
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
  if (c.data?.length) out.push(...c.data.map((d) => `- ${d}`), '');
  if (c.access) out.push(c.access, '');
  if (c.links.length) out.push(c.links.map(([name, url]) => markdownLink(name, url)).join(' · '), '');
  out.push(
    `Expires ${escapeMarkdown(formatWhen(c.expiresAt, c.now))} unless the pull request is updated before; remove the label to tear it down now.${c.runUrl ? ` ${markdownLink('Run', c.runUrl)}.` : ''}`,
    '',
    COMMANDS_HINT,
  );
  return out.join('\n');
}

/** A moment written for people, without the "in/ago" part: "Fri 4 Dec 21:30 UTC". */
function atTime(at: number): string {
  return formatWhen(at, at).replace(/^[^,]*, /, '');
}

/** Asleep (sleep-after): since when, why, and the three ways to wake it. */
export function renderAsleepComment(o: {
  number: number;
  namespace: string;
  since: number;
  idleMs: number;
  url?: string;
  label: string;
}): string {
  return [
    `### Feature environment for #${o.number} is asleep`,
    '',
    `Nobody updated or used it for ${shortDuration(o.idleMs / 1000)}, so its services were scaled to 0 on ${escapeMarkdown(atTime(o.since))} (namespace ${codeSpan(o.namespace)}; its database and its data stay).${o.url ? ` ${markdownLink(o.url, o.url)} answers again once it is awake.` : ''}`,
    '',
    `To wake it: comment ${codeSpan('/feature-env wake')} or push a commit. The same services come back with the same replicas, and this comment says when they are ready. (Removing the label ${codeSpan(o.label)} takes it down.)`,
  ].join('\n');
}

/** The commands a comment on the pull request can give, for the comments' footer. */
export const COMMANDS_HINT =
  'Commands (comment on this pull request): `/feature-env up` · `down` · `extend <duration>` · `keep` · `unkeep` · `wake` · `reset-db` · `status`.';

/** The environment as it stands (after a command, or for `/feature-env status`): what was done, its URLs, its expiry. */
export function renderStatusComment(o: {
  number: number;
  namespace: string;
  sha?: string;
  urls: Array<{ service: string; url: string }>;
  expiresAt?: string;
  keep: boolean;
  asleepSince?: string;
  database?: string;
  /** What the command did, in a sentence ("@alice extended it by 2d"). */
  done: string;
  now: number;
}): string {
  const state = o.asleepSince ? 'is asleep' : o.keep ? 'is ready (kept)' : 'is ready';
  const out = [
    `### Feature environment for #${o.number} ${state}`,
    '',
    `${escapeMarkdown(o.done)}`,
    '',
    `${o.sha ? `Commit ${codeSpan(o.sha.slice(0, 12))} in namespace` : 'Namespace'} ${codeSpan(o.namespace)}; updated ${escapeMarkdown(atTime(o.now))}.`,
    '',
  ];
  if (o.urls.length) {
    out.push('| Service | URL |', '| --- | --- |');
    for (const u of o.urls)
      out.push(`| ${escapeMarkdown(u.service || '–')} | ${markdownLink(u.url, u.url)} |`);
    out.push('');
  }
  if (o.database)
    out.push(`Database: ${codeSpan(o.database)} (its credentials are in the namespace's Secret).`, '');
  if (o.asleepSince)
    out.push(
      `Asleep since ${escapeMarkdown(atTime(Date.parse(o.asleepSince)))}: its services are scaled to 0. Comment ${codeSpan('/feature-env wake')} or push a commit to wake it.`,
      '',
    );
  out.push(
    o.keep
      ? `Kept: it does not expire or sleep until ${codeSpan('/feature-env unkeep')} or the pull request closes.`
      : o.expiresAt
        ? `Expires ${escapeMarkdown(formatWhen(o.expiresAt, o.now))} unless the pull request is updated before.`
        : '',
    '',
    COMMANDS_HINT,
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
  /** What went, in Markdown: "Namespace `fe-…`", "Instance `i-…`". */
  what: string;
  reason: string;
  stillTerminating?: boolean;
}): string {
  return [
    `### Feature environment for #${o.number} was removed`,
    '',
    `${o.what} ${o.stillTerminating ? 'is being deleted' : 'is gone'}: ${escapeMarkdown(o.reason)}. Add the label again for a new one.`,
  ].join('\n');
}
