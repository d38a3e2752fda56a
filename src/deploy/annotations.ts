import { asObject, get, kindOf, metadataOf, stableJson, type JsonObject } from './objects.js';
import { adapterOf, podTemplateOf } from './kinds/index.js';

/**
 * The audit trail on what is applied: who sent which commit, from which run, approved by whom.
 *
 * On every applied object's metadata: all of it (commit, ref, run URL, actor, approvers). Changing
 * an object's metadata annotations does not bump its generation, so this never starts a rollout.
 *
 * On the pod template (Deployments, StatefulSets, DaemonSets, ReplicaSets, CronJobs) only the
 * commit, and only when the template changes anyway. Any change to a pod template is a new
 * revision and restarts every pod. Putting the run URL (different on every run) there would
 * restart all pods on every run, even a re-run with nothing new; putting the commit there
 * unconditionally would restart every service of a monorepo on every commit, also the ones whose
 * image did not change. Neither is what a user expects. Whether the template changes is the
 * server's to say: the deploy compares the template of a server-side dry run (which drops the
 * fields the manifest no longer sets) with the live one (templatesEqual). When it does not change,
 * the live template's audit annotations are carried over and the template is left as it is;
 * otherwise the template gets the new commit, and the new pods say which commit they run.
 * Jobs get no template annotation at all: a Job's pod template is immutable.
 */

export const AUDIT_PREFIX = 'commit-to-cloud.dev/';

export const AUDIT_KEYS = {
  commit: `${AUDIT_PREFIX}commit`,
  ref: `${AUDIT_PREFIX}ref`,
  runUrl: `${AUDIT_PREFIX}run-url`,
  actor: `${AUDIT_PREFIX}actor`,
  approvedBy: `${AUDIT_PREFIX}approved-by`,
} as const;

export interface AuditInfo {
  /** Full commit SHA. */
  commit: string;
  /** refs/heads/main, refs/tags/v1.2. */
  ref?: string;
  /** https://github.com/org/repo/actions/runs/123/attempts/1 */
  runUrl?: string;
  /** Who triggered the run. */
  actor?: string;
  /** Who approved the run's deployment to a protected environment (run approvals API). */
  approvers?: string[];
}

/** The annotations for an object's metadata (empty values left out). */
export function auditAnnotations(audit: AuditInfo): Record<string, string> {
  const out: Record<string, string> = {};
  if (audit.commit) out[AUDIT_KEYS.commit] = audit.commit;
  if (audit.ref) out[AUDIT_KEYS.ref] = audit.ref;
  if (audit.runUrl) out[AUDIT_KEYS.runUrl] = audit.runUrl;
  if (audit.actor) out[AUDIT_KEYS.actor] = audit.actor;
  const approvers = [...new Set((audit.approvers ?? []).map((a) => a.trim()).filter(Boolean))].sort();
  if (approvers.length > 0) out[AUDIT_KEYS.approvedBy] = approvers.join(', ');
  return out;
}

export interface AnnotateOptions {
  /** The object as it runs now in the cluster, when it exists. */
  live?: JsonObject;
  /**
   * Whether this run changes the pod template (a rollout). Default: true without a live object,
   * false with one (the deploy learns the truth from its server-side dry run and annotates again).
   */
  templateChanges?: boolean;
}

function annotationsOf(meta: JsonObject): Record<string, unknown> {
  let a = asObject(meta.annotations);
  if (!a) {
    a = {};
    meta.annotations = a;
  }
  return a;
}

/**
 * Annotates one object (in place): every audit key on its metadata; on its pod template the new
 * commit when the template changes, else the live template's own audit annotations, so the
 * template stays byte for byte what runs (with server-side apply, leaving out a field set before
 * would remove it: a change). Returns whether the pod template received the new commit.
 */
export function annotateObject(obj: JsonObject, audit: AuditInfo, opts: AnnotateOptions = {}): boolean {
  Object.assign(annotationsOf(metadataOf(obj)), auditAnnotations(audit));
  if (!adapterOf(kindOf(obj))?.annotateTemplate || !audit.commit) return false;
  const template = podTemplateOf(obj);
  if (!template) return false;
  const liveTemplate = opts.live ? podTemplateOf(opts.live) : undefined;
  const changes = opts.templateChanges ?? !liveTemplate;
  const meta = metadataOf(template);
  const ann = asObject(meta.annotations) ?? {};
  for (const k of Object.keys(ann)) if (k.startsWith(AUDIT_PREFIX)) delete ann[k];
  if (changes) ann[AUDIT_KEYS.commit] = audit.commit;
  else {
    const liveAnn = asObject(get(liveTemplate, 'metadata', 'annotations')) ?? {};
    for (const [k, v] of Object.entries(liveAnn)) if (k.startsWith(AUDIT_PREFIX)) ann[k] = v;
  }
  if (Object.keys(ann).length > 0) meta.annotations = ann;
  else delete meta.annotations;
  return changes;
}

/** Annotates every object; `live` finds an object's live version (undefined when new or unknown). */
export function annotateAll(
  objects: JsonObject[],
  audit: AuditInfo,
  live: (obj: JsonObject) => JsonObject | undefined = () => undefined,
): void {
  for (const o of objects) {
    const l = live(o);
    annotateObject(o, audit, l ? { live: l } : {});
  }
}

/**
 * Whether two pod templates are the same, our own audit annotations aside: both as the API server
 * returns them (defaults filled in), e.g. the result of a server-side dry run and the live one. A
 * field the new manifest drops is missing from the dry run's template, so that is a change too.
 */
export function templatesEqual(a: JsonObject | undefined, b: JsonObject | undefined): boolean {
  if (!a || !b) return a === b;
  return stableJson(stripAudit(a)) === stableJson(stripAudit(b));
}

function stripAudit(template: JsonObject): JsonObject {
  const meta = asObject(template.metadata);
  const ann = asObject(meta?.annotations);
  if (!meta || !ann) return template;
  const kept = Object.fromEntries(Object.entries(ann).filter(([k]) => !k.startsWith(AUDIT_PREFIX)));
  const m: JsonObject = { ...meta };
  if (Object.keys(kept).length > 0) m.annotations = kept;
  else delete m.annotations;
  return { ...template, metadata: m };
}
