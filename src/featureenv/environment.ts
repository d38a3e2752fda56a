import type { DeploymentRecorder } from '../deploy/types.js';
import type { AuditInfo } from '../deploy/annotations.js';
import type { DeployOptions } from '../deploy/inputs.js';
import { runDeploy } from '../deploy/run.js';
import type { KubeObject } from '../kube/index.js';
import type { K8sObject } from '../deploy/objects.js';
import { rewriteIngresses } from './hosts.js';
import type { FeatureEnvOptions } from './inputs.js';
import type { FeatureEnvContext } from './context.js';
import { grantAccess } from './access.js';
import { FIELD_MANAGER, type Scope } from './claims.js';
import type { DatabaseInfo } from './types.js';
import { A_REPOSITORY, baseLabels, PR_LABEL, type EnvState } from './state.js';

/**
 * Deploys the set into an environment's namespace with the deploy-k8s engine (the same validation,
 * dry run, apply, rollout watch, diagnosis and rollback): `underTest` adds the images under test and
 * the build; without it, the baseline (every service as its manifest names it), as a spare has.
 * Ingress hosts are rewritten for the environment on the way.
 */
export async function deployInto(
  opts: FeatureEnvOptions,
  ctx: FeatureEnvContext,
  namespace: string,
  o: {
    number: number | string;
    underTest: boolean;
    audit?: AuditInfo;
    recorder?: DeploymentRecorder;
    /** The environment's URLs, as soon as the manifests are read (before the GitHub Deployment starts). */
    onUrls?: (urls: Array<{ service: string; url: string }>) => void;
  },
) {
  const urls: Array<{ service: string; url: string }> = [];
  const { build, ...rest } = opts.deploy!;
  const deploy: DeployOptions = {
    ...rest,
    ...(o.underTest && build ? { build } : {}),
    images: o.underTest ? rest.images : [],
    namespace,
    createNamespace: false,
    timeoutMs: opts.timeoutMs,
    cluster: opts.cluster,
  };
  const result = await runDeploy(deploy, {
    logger: ctx.logger,
    ...(ctx.connection ? { connection: ctx.connection } : {}),
    ...(o.audit ? { audit: o.audit, revision: o.audit.commit } : {}),
    ...(o.recorder ? { recorder: o.recorder } : {}),
    ...(ctx.kubeRetry ? { kubeRetry: ctx.kubeRetry } : {}),
    ...(ctx.source ? { source: ctx.source } : {}),
    ...(ctx.now ? { now: ctx.now } : {}),
    transform: (objects: K8sObject[]) => {
      urls.push(
        ...rewriteIngresses(objects, {
          hostTemplate: opts.hostTemplate,
          domain: opts.domain,
          number: o.number,
          namespace,
          annotations: opts.ingressAnnotations,
        }),
      );
      o.onUrls?.(urls);
    },
  });
  return { result, urls };
}

/** Writes an environment's namespace: its labels (state, pull request) and annotations, created when missing. */
export async function writeNamespace(
  s: Scope,
  namespace: string,
  state: EnvState,
  o: { number?: number; annotations?: Record<string, string> } = {},
): Promise<KubeObject> {
  const ns = await s.client.apply(
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: namespace,
        labels: { ...baseLabels(s.repository, state), ...(o.number ? { [PR_LABEL]: String(o.number) } : {}) },
        annotations: { [A_REPOSITORY]: s.repository, ...o.annotations },
      },
    },
    { fieldManager: FIELD_MANAGER, force: true },
  );
  return grantAccess(s, ns);
}

/** The environment's database Secret: host, port, database, user, password, url. */
export async function writeDatabaseSecret(
  s: Scope,
  namespace: string,
  name: string,
  db: DatabaseInfo,
): Promise<void> {
  s.logger.secret(db.password);
  const url = `${db.scheme ?? 'postgres'}://${encodeURIComponent(db.user)}:${encodeURIComponent(db.password)}@${db.host}:${db.port}/${encodeURIComponent(db.database)}`;
  s.logger.secret(url);
  const b64 = (v: string) => Buffer.from(v, 'utf8').toString('base64');
  await s.client.apply(
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'commit-to-cloud' } },
      type: 'Opaque',
      data: {
        host: b64(db.host),
        port: b64(String(db.port)),
        database: b64(db.database),
        user: b64(db.user),
        password: b64(db.password),
        url: b64(url),
      },
    } as unknown as KubeObject,
    { fieldManager: FIELD_MANAGER, force: true },
  );
  s.logger.info(
    `Secret ${namespace}/${name}: database ${db.database} on ${db.host}:${db.port} (user ${db.user})`,
  );
}
