import { asNumber, asObject, asObjectAt, asString, get, nameOf, type JsonObject } from '../objects.js';
import { LAST, type KindAdapter } from './adapter.js';
import { condition, num, type RolloutStatus } from './status.js';

/** A Job: done when Complete, failed when Failed (the conditions the Job controller sets). */
export function jobStatus(obj: JsonObject): RolloutStatus {
  const name = nameOf(obj);
  const status = asObject(obj.status) ?? {};
  const succeeded = num(status.succeeded);
  const failedPods = num(status.failed);
  const active = num(status.active);
  const isTrue = (type: string) => condition(obj, type)?.status === 'True';
  const reasonOf = (type: string) => {
    const c = condition(obj, type);
    const text = [asString(c?.reason), asString(c?.message)].filter(Boolean).join(': ');
    return text ? ` (${text})` : '';
  };
  if (isTrue('Failed'))
    return {
      done: false,
      failed: true,
      message: `job "${name}" failed${reasonOf('Failed')}: ${failedPods} failed, ${succeeded} succeeded`,
    };
  if (isTrue('FailureTarget'))
    return {
      done: false,
      failed: true,
      message: `job "${name}" is failing${reasonOf('FailureTarget')}: ${failedPods} failed, ${succeeded} succeeded`,
    };
  // More pods failed than the backoffLimit allows: the Job controller will fail it (it may first
  // wait out pod finalizers), no need to wait for that.
  const backoffLimit = asNumber(get(obj, 'spec', 'backoffLimit')) ?? 6;
  if (failedPods > backoffLimit && !isTrue('Complete'))
    return {
      done: false,
      failed: true,
      message: `job "${name}" failed: ${failedPods} pod(s) failed, more than its backoffLimit ${backoffLimit}`,
    };
  if (isTrue('Complete') || isTrue('SuccessCriteriaMet'))
    return { done: true, failed: false, message: `job "${name}" completed: ${succeeded} succeeded` };
  if (get(obj, 'spec', 'suspend') === true || isTrue('Suspended'))
    return {
      done: true,
      failed: false,
      unsupported: true,
      message: `job "${name}" is suspended: not waiting for it`,
    };
  const completions = asNumber(get(obj, 'spec', 'completions'));
  return {
    done: false,
    failed: false,
    message: `Waiting for job "${name}" to complete: ${succeeded}${completions !== undefined ? ` of ${completions}` : ''} succeeded, ${active} active, ${failedPods} failed...`,
  };
}

/** Watched until complete; never rolled back (a Job runs once: it is applied again as it was). */
export const job: KindAdapter = {
  kind: 'Job',
  order: LAST,
  template: (obj) => asObjectAt(obj, 'spec', 'template'),
  rolloutStatus: jobStatus,
};
