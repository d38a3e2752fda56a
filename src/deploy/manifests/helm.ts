import { C2CError, ExecError, ToolMissingError, exec, which } from '../../core/index.js';
import type { Logger } from '../../core/index.js';
import { isLoopbackHost } from '../../images/index.js';
import type { ChartOption } from '../inputs.js';
import { asObject, get, kindOf, type JsonObject } from '../objects.js';
import { PHASE_KEY, PRE_DEPLOY } from '../phases.js';

/**
 * Helm charts as a source of manifests: `helm template` renders the chart (with the cluster's
 * version and API versions when a cluster is known, so `.Capabilities` is the cluster's), and the
 * documents join the set like any manifest. No release is installed: there is no Helm release
 * state, so no `pending-upgrade` can get stuck (helm/helm#8987), and `helm list` does not show it.
 */
export interface KubeCapabilities {
  /** e.g. v1.34.4 */
  kubeVersion?: string;
  apiVersions: string[];
}

const HOOK = 'helm.sh/hook';
const HOOK_EXTRAS = ['helm.sh/hook-weight', 'helm.sh/hook-delete-policy'];
/** The hooks that run before an install or upgrade: they become the pre-deploy phase. */
const BEFORE = new Set(['pre-install', 'pre-upgrade']);
/** Hooks `helm install` and `upgrade` never deploy: left out. */
const NOT_DEPLOYED = new Set(['test', 'test-success', 'test-failure']);

/** The chart rendered: helm's stdout (YAML documents). */
export async function renderChart(
  chart: ChartOption,
  o: { workspace: string; logger: Logger; env?: NodeJS.ProcessEnv; capabilities?: KubeCapabilities },
): Promise<string> {
  const env = o.env ?? process.env;
  const helm = await which('helm', env.PATH ?? '');
  if (!helm)
    throw new ToolMissingError(
      'helm',
      "'chart' is rendered with `helm template`: install Helm 3 or 4 (GitHub's hosted runners have it; https://helm.sh/docs/intro/install/)",
    );
  const oci = chart.ref.startsWith('oci://');
  const host = oci ? chart.ref.slice('oci://'.length).split('/')[0]! : '';
  // prettier-ignore
  const args = [
    'template', chart.releaseName, chart.ref,
    ...(chart.version ? ['--version', chart.version] : []),
    ...(chart.namespace ? ['--namespace', chart.namespace] : []),
    ...chart.values.flatMap((f) => ['--values', f]),
    ...chart.set.flatMap((s) => ['--set', s]),
    ...(o.capabilities?.kubeVersion ? ['--kube-version', o.capabilities.kubeVersion] : []),
    ...(o.capabilities?.apiVersions ?? []).flatMap((a) => ['--api-versions', a]),
    // A registry on this machine speaks plain HTTP, as the builder assumes for loopback registries.
    ...(oci && isLoopbackHost(host) ? ['--plain-http'] : []),
  ];
  o.logger.info(
    `Rendering chart ${chart.ref}${chart.version ? ` ${chart.version}` : ''} as release ${chart.releaseName} with helm template${o.capabilities?.kubeVersion ? ` (Kubernetes ${o.capabilities.kubeVersion}, ${o.capabilities.apiVersions.length} API versions)` : ''}`,
  );
  try {
    return (await exec(helm, args, { cwd: o.workspace, env, timeoutMs: 120_000 })).stdout;
  } catch (e) {
    const detail =
      e instanceof ExecError ? (e.result.stderr || e.result.stdout).trim() : (e as Error).message;
    throw new C2CError(`Input 'chart': helm template could not render ${chart.ref}: ${detail}`);
  }
}

/**
 * A rendered document's Helm hook, as this suite runs it: pre-install/pre-upgrade Jobs become
 * pre-deploy Jobs (the hook annotations go); test hooks are left out (undefined); any other hook is
 * a problem (returned as a string), since nothing here would run it when Helm would.
 */
export function fromHelmHook(o: JsonObject): JsonObject | undefined | string {
  const annotations = asObject(get(o, 'metadata', 'annotations'));
  const hook = annotations?.[HOOK];
  if (typeof hook !== 'string') return o;
  const hooks = hook
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  if (hooks.every((h) => NOT_DEPLOYED.has(h))) return undefined;
  const other = hooks.filter((h) => !BEFORE.has(h));
  if (other.length)
    return `Helm hook '${other.join(', ')}' is not supported: only pre-install and pre-upgrade Jobs run (as pre-deploy Jobs, before the rest); test hooks are left out`;
  if (kindOf(o) !== 'Job')
    return `Helm hook '${hook}' on a ${kindOf(o)}: only Jobs run before the rest (as pre-deploy Jobs)`;
  const out = structuredClone(o);
  const a = asObject(get(out, 'metadata', 'annotations'))!;
  delete a[HOOK];
  for (const k of HOOK_EXTRAS) delete a[k];
  a[PHASE_KEY] = PRE_DEPLOY;
  return out;
}
