import { asObject, get, kindOf, metadataOf, podTemplateOf, type K8sObject } from './objects.js';

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
 * image did not change. Neither is what a user expects. So when the live object is known and its
 * template already holds everything the new one says (ignoring our own annotations), the live
 * template's audit annotations are carried over unchanged and the template is left as it is;
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

/** Kinds whose pod template gets the commit (Jobs are left out: their template is immutable). */
const TEMPLATE_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'CronJob']);

export interface AnnotateOptions {
  /** The object as it runs now in the cluster, when it exists: decides whether the template changes. */
  live?: K8sObject;
}

function annotationsOf(meta: K8sObject): Record<string, unknown> {
  let a = asObject(meta.annotations);
  if (!a) {
    a = {};
    meta.annotations = a;
  }
  return a;
}

/**
 * Annotates one object (in place): every audit key on its metadata; the commit on its pod template
 * when the template changes (see above). Returns whether the pod template received a new commit.
 */
export function annotateObject(obj: K8sObject, audit: AuditInfo, opts: AnnotateOptions = {}): boolean {
  Object.assign(annotationsOf(metadataOf(obj)), auditAnnotations(audit));
  if (!TEMPLATE_KINDS.has(kindOf(obj)) || !audit.commit) return false;
  const template = podTemplateOf(obj);
  if (!template) return false;
  const liveTemplate = opts.live ? podTemplateOf(opts.live) : undefined;
  if (liveTemplate && templateUnchanged(template, liveTemplate)) {
    // Carry the live audit annotations over, so the template stays byte-for-byte what runs (with
    // server-side apply, leaving a field out that we set before would remove it: a change).
    const liveAnn = asObject(get(liveTemplate, 'metadata', 'annotations')) ?? {};
    const own = Object.entries(liveAnn).filter(([k]) => k.startsWith(AUDIT_PREFIX));
    if (own.length > 0) {
      const ann = annotationsOf(metadataOf(template));
      for (const [k, v] of own) ann[k] = v;
    }
    return false;
  }
  annotationsOf(metadataOf(template))[AUDIT_KEYS.commit] = audit.commit;
  return true;
}

/** Annotates every object; `live` finds an object's live version (undefined when new or unknown). */
export function annotateAll(
  objects: K8sObject[],
  audit: AuditInfo,
  live: (obj: K8sObject) => K8sObject | undefined = () => undefined,
): void {
  for (const o of objects) {
    const l = live(o);
    annotateObject(o, audit, l ? { live: l } : {});
  }
}

/**
 * Whether applying `desired` leaves the live template as it is: every field the desired template
 * sets has the same value in the live one (the live one also holds server defaults), our own audit
 * annotations aside. Lists compare element by element and must have the same length. Known limit:
 * a quantity written differently from the server's canonical form (`1000m` vs `1`) counts as a
 * change, which costs at most one rollout that would not have been needed.
 */
export function templateUnchanged(desired: K8sObject, live: K8sObject): boolean {
  return subset(stripAudit(desired), stripAudit(live));
}

function stripAudit(template: K8sObject): K8sObject {
  const meta = asObject(template.metadata);
  const ann = asObject(meta?.annotations);
  if (!meta || !ann) return template;
  const kept = Object.fromEntries(Object.entries(ann).filter(([k]) => !k.startsWith(AUDIT_PREFIX)));
  const m: K8sObject = { ...meta };
  if (Object.keys(kept).length > 0) m.annotations = kept;
  else delete m.annotations;
  return { ...template, metadata: m };
}

function subset(want: unknown, have: unknown): boolean {
  if (want === null || want === undefined) return true;
  if (Array.isArray(want)) {
    if (!Array.isArray(have) || have.length !== want.length) return false;
    return want.every((w, i) => subset(w, have[i]));
  }
  const wo = asObject(want);
  if (wo) {
    const ho = asObject(have);
    if (!ho) return Object.keys(wo).length === 0 && (have === undefined || have === null);
    return Object.entries(wo).every(([k, v]) => subset(v, ho[k]));
  }
  // Scalars: the API server turns int-or-string ports and numbers the same way in both, so strict.
  return want === have;
}
