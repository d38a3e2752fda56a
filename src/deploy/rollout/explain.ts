import { errorMessage } from '../../core/index.js';
import type { Logger } from '../../core/index.js';
import type { KubeClient } from '../../kube/index.js';
import { diagnose, podsForWorkload, type DiagnoseInput } from './diagnose.js';
import { describeUnhealable, findUnhealable } from './fail-fast.js';
import type { Item } from '../items.js';
import type { JsonObject } from '../objects.js';
import type { Outcome } from './watch.js';
import { rolloutStatus } from '../kinds/index.js';

/**
 * The failure report: pod phases, waiting reasons, recent events, last log lines; and per workload
 * the cause in one line (the first container stuck in a state that does not heal, with its image)
 * for the verdict, when the rollout's own message does not name it.
 */
export async function explain(
  client: KubeClient,
  failed: Item[],
  outcome: Map<Item, Outcome>,
  logger: Logger,
): Promise<{ text: string; causes: Map<Item, string> }> {
  const causes = new Map<Item, string>();
  try {
    const byNs = new Map<string, { pods: JsonObject[]; events: JsonObject[] }>();
    for (const ns of new Set(failed.map((f) => f.namespace ?? ''))) {
      // Pods and events separately: without one (RBAC), the other still explains.
      const read = async (kind: string) => {
        try {
          return (await client.list('v1', kind, { namespace: ns })).items;
        } catch (e) {
          logger.warning(
            `could not list ${kind.toLowerCase()}s of namespace '${ns}' for the failure report: ${errorMessage(e)}`,
          );
          return [];
        }
      };
      const [pods, events] = await Promise.all([read('Pod'), read('Event')]);
      byNs.set(ns, { pods, events });
    }
    const inputs: DiagnoseInput[] = failed.map((f) => {
      const { pods, events } = byNs.get(f.namespace ?? '')!;
      const o = outcome.get(f);
      const workload = o?.object ?? f.applied ?? f.object;
      const stuck = findUnhealable(
        podsForWorkload(workload, pods),
        { graceMs: 0, crashRestarts: 0 },
        new Map(),
        0,
      );
      if (stuck && !o?.status.message.includes(stuck.reason)) causes.set(f, describeUnhealable(stuck));
      return {
        workload,
        reason: o?.status.message ?? rolloutStatus(workload)?.message ?? 'failed',
        pods: podsForWorkload(workload, pods),
        events,
        fetchLogs: (req) =>
          client.podLogs(req.namespace, req.pod, {
            container: req.container,
            tailLines: req.tailLines,
            previous: req.previous,
          }),
      };
    });
    return { text: await diagnose(inputs), causes };
  } catch (e) {
    logger.warning(`could not gather the failure details: ${errorMessage(e)}`);
    return { text: '', causes };
  }
}

/**
 * The failure report printed (explain), and each failed workload's reason with its cause ("timed
 * out …; cause: ImagePullBackOff on image …"): what a failed rollout, a failed pre-deploy Job and a
 * failed canary all say. `what` is the list, `key (reason)` each, for a step's error.
 */
export async function explainFailed(
  client: KubeClient,
  failed: Item[],
  outcome: Map<Item, Outcome>,
  logger: Logger,
  /** Between the key and the reason (a canary: "did not become ready"). */
  verb = '',
): Promise<{ reasonOf: (it: Item) => string; what: string; report: string }> {
  const why = await explain(client, failed, outcome, logger);
  logger.info(why.text);
  const reasonOf = (it: Item) => {
    const cause = why.causes.get(it);
    return `${outcome.get(it)!.status.message}${cause ? `; cause: ${cause}` : ''}`;
  };
  return {
    reasonOf,
    what: failed.map((it) => `${it.key}${verb ? ` ${verb}` : ''} (${reasonOf(it)})`).join('; '),
    report: why.text,
  };
}
