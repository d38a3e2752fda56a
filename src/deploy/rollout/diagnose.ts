import {
  asArray,
  asNumber,
  asObject,
  asString,
  get,
  kindOf,
  nameOf,
  namespaceOf,
  type JsonObject,
} from '../objects.js';
import { adapterOf } from '../kinds/index.js';

/**
 * Why a rollout failed, in words a person reads in the job log: for one workload, its pods with
 * their phases, the containers that are waiting or dying (ImagePullBackOff, CrashLoopBackOff,
 * OOMKilled, …) with the kubelet's message, unschedulable pods, recent Warning events of the
 * workload, its ReplicaSets and pods, and the last log lines of the containers that crashed.
 * Pure given its inputs: the caller lists pods and events, and injects the log fetcher.
 */

export interface LogRequest {
  namespace: string;
  pod: string;
  container: string;
  /** The previous run of the container (what crashed), not the current one. */
  previous: boolean;
  tailLines: number;
}

export type LogFetcher = (req: LogRequest) => Promise<string>;

export interface DiagnoseInput {
  workload: JsonObject;
  /** Why the rollout failed (the rollout status message, or "timed out after 10m"). */
  reason?: string;
  /** Pods of the workload (podsForWorkload selects them from a namespace's pods). */
  pods: JsonObject[];
  /** Events of the namespace; those about the workload, its ReplicaSets and its pods are used. */
  events: JsonObject[];
  fetchLogs?: LogFetcher;
  /** Log lines per failing container (default 20). */
  tailLines?: number;
  /** Warning events shown (default 10, newest last). */
  maxEvents?: number;
  /** Pods shown in detail (default 5; failing pods first). */
  maxPods?: number;
  /** Containers whose logs are fetched (default 3). */
  maxLogs?: number;
}

/** Waiting reasons that mean the container will not start by itself. */
export const FAILING_WAITING_REASONS = new Set([
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'PreStartHookError',
  'PostStartHookError',
]);

/** Whether a pod's labels satisfy a LabelSelector (matchLabels and matchExpressions). */
export function selectorMatches(selector: unknown, labels: Record<string, unknown> | undefined): boolean {
  const sel = asObject(selector);
  if (!sel) return false;
  const l = labels ?? {};
  const matchLabels = asObject(sel.matchLabels) ?? {};
  const exprs = asArray(sel.matchExpressions).map(asObject);
  if (Object.keys(matchLabels).length === 0 && exprs.length === 0) return false; // empty selects nothing here
  for (const [k, v] of Object.entries(matchLabels)) if (l[k] !== v) return false;
  for (const e of exprs) {
    if (!e) return false;
    const key = asString(e.key) ?? '';
    const values = asArray(e.values).map(String);
    const has = Object.prototype.hasOwnProperty.call(l, key);
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(String(l[key]))) return false;
        break;
      case 'NotIn':
        if (has && values.includes(String(l[key]))) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** The pods of a workload: same namespace, labels matching its selector (a Job's or a Pod's own pod). */
export function podsForWorkload(workload: JsonObject, pods: JsonObject[]): JsonObject[] {
  const ns = namespaceOf(workload);
  if (kindOf(workload) === 'Pod')
    return pods.filter((p) => nameOf(p) === nameOf(workload) && namespaceOf(p) === ns);
  const selector = get(workload, 'spec', 'selector');
  return pods.filter(
    (p) => namespaceOf(p) === ns && selectorMatches(selector, asObject(get(p, 'metadata', 'labels'))),
  );
}

interface ContainerProblem {
  container: string;
  init: boolean;
  text: string;
  /** Logs worth fetching: the previous run when it crashed, the current one when it is running badly. */
  logs?: { previous: boolean };
}

function containerProblems(pod: JsonObject): ContainerProblem[] {
  const out: ContainerProblem[] = [];
  const lists: Array<[string, boolean]> = [
    ['initContainerStatuses', true],
    ['containerStatuses', false],
  ];
  for (const [field, init] of lists) {
    for (const cs of asArray(get(pod, 'status', field)).map(asObject)) {
      if (!cs) continue;
      const name = asString(cs.name) ?? '?';
      const restarts = asNumber(cs.restartCount) ?? 0;
      const waiting = asObject(get(cs, 'state', 'waiting'));
      const terminated = asObject(get(cs, 'state', 'terminated'));
      const lastTerminated = asObject(get(cs, 'lastState', 'terminated'));
      const restartText = restarts > 0 ? `, ${restarts} restart${restarts === 1 ? '' : 's'}` : '';
      const lastText = lastTerminated
        ? `; last run: ${asString(lastTerminated.reason) ?? 'terminated'}, exit code ${asNumber(lastTerminated.exitCode) ?? '?'}`
        : '';
      if (waiting) {
        const reason = asString(waiting.reason) ?? 'Waiting';
        if (reason === 'ContainerCreating' || reason === 'PodInitializing') {
          continue;
        }
        const msg = asString(waiting.message);
        const imagePull = reason.includes('Image');
        out.push({
          container: name,
          init,
          text: `waiting: ${reason}${msg ? `: ${msg}` : ''}${restartText}${lastText}`,
          ...(!imagePull && (restarts > 0 || lastTerminated) ? { logs: { previous: true } } : {}),
        });
      } else if (terminated) {
        const exitCode = asNumber(terminated.exitCode) ?? 0;
        if (exitCode === 0 && init) continue;
        const msg = asString(terminated.message);
        out.push({
          container: name,
          init,
          text: `terminated: ${asString(terminated.reason) ?? 'Terminated'}, exit code ${exitCode}${msg ? `: ${msg}` : ''}${restartText}`,
          ...(exitCode !== 0 ? { logs: { previous: false } } : {}),
        });
      } else if (cs.ready !== true && (restarts > 0 || lastTerminated)) {
        out.push({
          container: name,
          init,
          text: `running, not ready${restartText}${lastText}`,
          logs: { previous: true },
        });
      } else if (cs.ready !== true && !init && get(cs, 'state', 'running')) {
        out.push({
          container: name,
          init,
          text: 'running, not ready (readiness probe failing?)',
          logs: { previous: false },
        });
      }
    }
  }
  return out;
}

function podSchedulingProblem(pod: JsonObject): string | undefined {
  for (const c of asArray(get(pod, 'status', 'conditions')).map(asObject)) {
    if (c?.type === 'PodScheduled' && c.status === 'False')
      return `not scheduled: ${asString(c.reason) ?? ''}${asString(c.message) ? `: ${asString(c.message)}` : ''}`;
  }
  return undefined;
}

function readyCount(pod: JsonObject): string {
  const statuses = asArray(get(pod, 'status', 'containerStatuses')).map(asObject);
  const total = asArray(get(pod, 'spec', 'containers')).length || statuses.length;
  return `${statuses.filter((s) => s?.ready === true).length}/${total} ready`;
}

function eventTime(e: JsonObject): string {
  return (
    asString(e.lastTimestamp) ??
    asString(get(e, 'series', 'lastObservedTime')) ??
    asString(e.eventTime) ??
    asString(e.firstTimestamp) ??
    asString(get(e, 'metadata', 'creationTimestamp')) ??
    ''
  );
}

/** Names the events may be about: the workload, its pods and their owners (ReplicaSets, Jobs). */
function relatedNames(workload: JsonObject, pods: JsonObject[]): Set<string> {
  const names = new Set<string>([`${kindOf(workload)}/${nameOf(workload)}`]);
  for (const p of pods) {
    names.add(`Pod/${nameOf(p)}`);
    for (const o of asArray(get(p, 'metadata', 'ownerReferences')).map(asObject))
      if (o) names.add(`${asString(o.kind) ?? ''}/${asString(o.name) ?? ''}`);
  }
  // A Deployment's ReplicaSets are named <deployment>-<hash>; events about one with no pods left still count.
  return names;
}

function isRelated(e: JsonObject, workload: JsonObject, names: Set<string>): boolean {
  const io = asObject(e.involvedObject) ?? asObject(e.regarding);
  if (!io) return false;
  const ns = namespaceOf(workload);
  if (ns && asString(io.namespace) && asString(io.namespace) !== ns) return false;
  const kind = asString(io.kind) ?? '';
  const name = asString(io.name) ?? '';
  if (names.has(`${kind}/${name}`)) return true;
  return !!adapterOf(kindOf(workload))?.ownsEventsOf?.(workload, kind, name);
}

function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((l) => (l.length ? by + l : l))
    .join('\n');
}

/** The failure report of one workload (several lines, no trailing newline). */
export async function diagnoseWorkload(input: DiagnoseInput): Promise<string> {
  const { workload } = input;
  const tailLines = input.tailLines ?? 20;
  const maxEvents = input.maxEvents ?? 10;
  const maxPods = input.maxPods ?? 5;
  const maxLogs = input.maxLogs ?? 3;
  const ns = namespaceOf(workload);
  const title = `${kindOf(workload)} ${ns ? `${ns}/` : ''}${nameOf(workload)}`;
  const lines: string[] = [`${title}: ${input.reason ?? 'rollout failed'}`];

  const analysed = input.pods.map((pod) => {
    const problems = containerProblems(pod);
    const scheduling = podSchedulingProblem(pod);
    const phase = asString(get(pod, 'status', 'phase')) ?? 'Unknown';
    const failing = problems.length > 0 || !!scheduling || phase === 'Failed';
    return { pod, problems, scheduling, phase, failing };
  });
  analysed.sort((a, b) => Number(b.failing) - Number(a.failing));

  if (analysed.length === 0) lines.push('  Pods: none (none were created; see the events)');
  else {
    const phases = new Map<string, number>();
    for (const a of analysed) phases.set(a.phase, (phases.get(a.phase) ?? 0) + 1);
    lines.push(`  Pods: ${analysed.length} (${[...phases].map(([p, n]) => `${n} ${p}`).join(', ')})`);
    for (const a of analysed.slice(0, maxPods)) {
      const reason = asString(get(a.pod, 'status', 'reason'));
      const message = asString(get(a.pod, 'status', 'message'));
      lines.push(
        `    ${nameOf(a.pod)}: ${a.phase}, ${readyCount(a.pod)}${reason ? `, ${reason}` : ''}${message ? `: ${message}` : ''}`,
      );
      if (a.scheduling) lines.push(`      ${a.scheduling}`);
      for (const p of a.problems)
        lines.push(`      ${p.init ? 'init container' : 'container'} ${p.container}: ${p.text}`);
    }
    if (analysed.length > maxPods) lines.push(`    … and ${analysed.length - maxPods} more pods`);
  }

  const names = relatedNames(workload, input.pods);
  const warnings = input.events
    .filter((e) => e.type === 'Warning' && isRelated(e, workload, names))
    .sort((a, b) => (eventTime(a) < eventTime(b) ? -1 : eventTime(a) > eventTime(b) ? 1 : 0))
    .slice(-maxEvents);
  if (warnings.length > 0) {
    lines.push('  Recent warning events:');
    for (const e of warnings) {
      const io = asObject(e.involvedObject) ?? asObject(e.regarding) ?? {};
      const count = asNumber(e.count) ?? asNumber(get(e, 'series', 'count'));
      const message = (asString(e.message) ?? asString(e.note) ?? '').trim().replace(/\s*\n\s*/g, ' ');
      lines.push(
        `    ${eventTime(e) || '-'} ${asString(io.kind) ?? ''}/${asString(io.name) ?? ''} ${asString(e.reason) ?? ''}${count && count > 1 ? ` (x${count})` : ''}: ${message}`,
      );
    }
  }

  if (input.fetchLogs && ns !== undefined) {
    let fetched = 0;
    for (const a of analysed) {
      for (const p of a.problems) {
        if (!p.logs || fetched >= maxLogs) continue;
        fetched++;
        const which = p.logs.previous ? ' (previous run)' : '';
        let text: string;
        try {
          text = await input.fetchLogs({
            namespace: ns,
            pod: nameOf(a.pod),
            container: p.container,
            previous: p.logs.previous,
            tailLines,
          });
        } catch (e) {
          lines.push(
            `  Logs of ${nameOf(a.pod)}/${p.container}${which}: unavailable: ${(e as Error).message}`,
          );
          continue;
        }
        const logLines = text.replace(/\n$/, '').split('\n').slice(-tailLines);
        if (text.trim() === '') {
          lines.push(`  Logs of ${nameOf(a.pod)}/${p.container}${which}: (empty)`);
          continue;
        }
        lines.push(`  Last ${logLines.length} log lines of ${nameOf(a.pod)}/${p.container}${which}:`);
        lines.push(indent(logLines.join('\n'), '    | '));
      }
    }
  }
  return lines.join('\n');
}

/** The reports of several failing workloads, one after another. */
export async function diagnose(inputs: DiagnoseInput[]): Promise<string> {
  const parts: string[] = [];
  for (const i of inputs) parts.push(await diagnoseWorkload(i));
  return parts.join('\n\n');
}
