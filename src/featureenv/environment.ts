import type {
  DeploymentRecorder,
  AuditInfo,
  DeployContext,
  DeployOptions,
  PreparedSet,
} from '../deploy/index.js';
import {
  prepareDeploy,
  runDeploy,
  asArray,
  asObject,
  containersOf,
  get,
  metadataOf,
  podSpecOf,
  podTemplateOf,
  PHASE_KEY,
  PRE_DEPLOY,
  type JsonObject,
} from '../deploy/index.js';
import { KubeApiError, type KubeObject } from '../kube/index.js';
import { C2CError, InputError, errorMessage } from '../core/index.js';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { protectIngresses } from './private.js';
import { exposeLoadBalancers, loadBalancerUrl, rewriteIngresses, type LoadBalancerService } from './hosts.js';
import type { FeatureEnvOptions } from './inputs.js';
import type { FeatureEnvContext } from './context.js';
import { grantAccess } from './access.js';
import { FIELD_MANAGER, ownNamespace, setAnnotations, type Scope } from './claims.js';
import type { DatabaseInfo } from './types.js';
import { PREFIX, PR_LABEL, baseLabels, type EnvState } from './state.js';

/** On the database Secret: which credentials it holds (changes only when the password does). */
export const A_CREDENTIAL_REV = `${PREFIX}fe-credential-rev`;
/**
 * On the pod template of every workload that reads the database Secret: the Secret's credential
 * revision. A rotated password changes it, so exactly those workloads roll; an ordinary update
 * leaves it, so nothing restarts for the database. Not under `commit-to-cloud.dev/`: the deploy
 * engine treats that prefix on a pod template as its own audit keys, which do not count as a change.
 */
export const A_TEMPLATE_CREDENTIAL_REV = 'feature-env.commit-to-cloud.dev/db-credential-rev';

/**
 * The set for an environment, ready to deploy: read once (`prepared`, as up's precheck read it, or
 * here), its Ingress hosts rewritten for the environment and the workloads that read the database
 * Secret stamped with its credential revision; with the environment's URLs. `underTest` adds the
 * images under test and the build; without it, the baseline (every service as its manifest names
 * it), as a spare has.
 */
export async function prepareEnvironment(
  opts: FeatureEnvOptions,
  ctx: FeatureEnvContext,
  namespace: string,
  o: {
    number: number | string;
    underTest: boolean;
    /** The database Secret's credential revision: stamped on the workloads that read it. */
    credentialRev?: string;
    /** The set as prepared with the options under test (up's precheck). */
    prepared?: PreparedSet;
    /**
     * A spare of the warm pool: deployed without its Ingresses, which come with the hosts of the pull
     * request that claims it (no host, DNS name or certificate for an environment nobody uses).
     */
    spare?: boolean;
    /**
     * `db-init`'s run: FIRST_RUN for it, and what makes its template differ from the last run's (a
     * Job runs again only when its template changed). Without it (a spare: no database) the Job is
     * left out.
     */
    dbInit?: { firstRun: boolean; run: string };
    /** A private `access`: the environment's bypass token (the ALB's bypass rule holds it). */
    accessToken?: string;
  },
): Promise<EnvironmentSet> {
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
  const read = (o.underTest && o.prepared) || (await prepareDeploy(deploy, ctx));
  // A spare has no Ingress; an environment whose entry points are LoadBalancer Services gets them.
  const exposed = o.spare
    ? { manifests: read.manifests.filter((m) => m.object.kind !== 'Ingress'), waitFor: [] }
    : exposeLoadBalancers(read.manifests, { domain: opts.domain });
  const prepared = { ...read, manifests: withDbInit(exposed.manifests, opts, o.dbInit) };
  const objects = prepared.manifests.map((m) => m.object);
  const urls = rewriteIngresses(objects, {
    hostTemplate: opts.hostTemplate,
    domain: opts.domain,
    number: o.number,
    namespace,
    annotations: opts.ingressAnnotations,
    ...(opts.tlsSecret ? { tlsSecret: opts.tlsSecret.name } : {}),
  });
  if (o.credentialRev) stampCredentialReaders(objects, opts.dbSecretName, o.credentialRev);
  // Private URLs: the Ingresses ask the proxy; alb-oidc's bypass rules come as twin Ingresses.
  if (o.accessToken)
    for (const { twin, of } of protectIngresses(objects, opts.access, o.accessToken)) {
      const m = prepared.manifests.find((x) => x.object === of)!;
      prepared.manifests.push({ object: twin, file: m.file, line: m.line, index: prepared.manifests.length });
    }
  const dbInitJob = o.dbInit ? prepared.manifests.find((m) => isInitFile(m, opts)) : undefined;
  return {
    deploy,
    prepared,
    urls,
    loadBalancers: exposed.waitFor,
    ...(dbInitJob ? { dbInitJob: String(dbInitJob.object.metadata.name) } : {}),
  };
}

export interface EnvironmentSet {
  deploy: DeployOptions;
  prepared: PreparedSet;
  /** Each service's URL, and the Ingress that serves it. */
  urls: Array<{ service: string; url: string; ingress?: string }>;
  /** LoadBalancer Services whose addresses are the URLs (no Ingress, no domain): read after the deploy. */
  loadBalancers: LoadBalancerService[];
  /** The name of db-init's Job, when it runs. */
  dbInitJob?: string;
}

/**
 * Whether db-init's Job of this run completed: the Job carries this run's stamp on its template and
 * succeeded (a run that failed later, in the rollouts, still set the database up).
 */
export async function dbInitDone(s: Scope, namespace: string, job: string, run: string): Promise<boolean> {
  const live = await s.client.get({ apiVersion: 'batch/v1', kind: 'Job', namespace, name: job });
  return (
    get(live, 'spec', 'template', 'metadata', 'annotations', A_DB_INIT_RUN) === run &&
    Number(get(live, 'status', 'succeeded') ?? 0) > 0
  );
}

/**
 * The URLs of LoadBalancer Services: their addresses once the cloud's controller assigned them
 * (status.loadBalancer.ingress), waited for up to `waitMs`; a Service still without one gives no
 * URL, and a warning says so.
 */
export async function loadBalancerUrls(
  s: Scope,
  namespace: string,
  services: LoadBalancerService[],
  o: { waitMs: number; pollMs?: number; now?: () => number },
): Promise<Array<{ service: string; url: string }>> {
  const now = o.now ?? Date.now;
  const end = now() + o.waitMs;
  const found = new Map<string, string>();
  for (;;) {
    for (const svc of services) {
      if (found.has(svc.name)) continue;
      const live = await s.client.get({ apiVersion: 'v1', kind: 'Service', namespace, name: svc.name });
      const first = asObject(asArray(get(live, 'status', 'loadBalancer', 'ingress'))[0]);
      const address = (first?.hostname ?? first?.ip) as string | undefined;
      if (address) found.set(svc.name, loadBalancerUrl(address, svc.port));
    }
    if (found.size === services.length || now() >= end) break;
    await new Promise((r) => setTimeout(r, o.pollMs ?? 2_000));
  }
  for (const svc of services)
    if (!found.has(svc.name))
      s.logger.warning(
        `Service ${namespace}/${svc.name} (LoadBalancer) has no address after ${Math.round(o.waitMs / 1000)}s: no URL for it. Set 'domain' to reach it through an Ingress instead.`,
      );
  return services
    .filter((svc) => found.has(svc.name))
    .map((svc) => ({ service: svc.name, url: found.get(svc.name)! }));
}

/**
 * Deploys an environment's set with the deploy-k8s engine (the same validation, dry run, apply,
 * rollout watch, diagnosis and rollback).
 */
export async function deployInto(
  ctx: FeatureEnvContext,
  env: EnvironmentSet,
  o: { audit?: AuditInfo; recorder?: DeploymentRecorder; onProgress?: DeployContext['onProgress'] } = {},
) {
  return runDeploy(
    env.deploy,
    {
      logger: ctx.logger,
      ...(ctx.connection ? { connection: ctx.connection } : {}),
      ...(o.audit ? { audit: o.audit, revision: o.audit.commit } : {}),
      ...(o.recorder ? { recorder: o.recorder } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      ...(ctx.kubeRetry ? { kubeRetry: ctx.kubeRetry } : {}),
      ...(ctx.source ? { source: ctx.source } : {}),
      ...(ctx.now ? { now: ctx.now } : {}),
    },
    env.prepared,
  );
}

/**
 * Writes an environment's namespace: its labels (state, pull request) and annotations.
 *
 * `create`: the namespace is this run's to make (a spare slot it reserved, a new claim): made when
 * missing (POST, so a name someone else took is never taken over). Without it the namespace must
 * exist: one deleted meanwhile (a down or a reap of the same set at the same moment) is never made
 * again, so a removed environment cannot come back as a second one for its pull request or as a
 * spare outside the pool. An existing namespace is changed only while it carries this set's mark,
 * with a merge patch on the resourceVersion just read (a patch never creates).
 */
export async function writeNamespace(
  s: Scope,
  namespace: string,
  state: EnvState,
  o: {
    number?: number;
    /** null removes an annotation. */
    annotations?: Record<string, string | null>;
    create?: boolean;
    /** Only on this version: the write fails (ChangedMeanwhile) when the namespace changed since. */
    resourceVersion?: string;
  } = {},
): Promise<KubeObject> {
  const labels = { ...baseLabels(s, state), ...(o.number ? { [PR_LABEL]: String(o.number) } : {}) };
  const annotations = { ...setAnnotations(s), ...o.annotations };
  const ref = { apiVersion: 'v1', kind: 'Namespace', name: namespace };
  if (o.create) {
    const made = await s.client.create(
      {
        ...ref,
        metadata: {
          name: namespace,
          labels,
          annotations: Object.fromEntries(
            Object.entries(annotations).filter((e): e is [string, string] => e[1] !== null),
          ),
        },
      },
      { fieldManager: FIELD_MANAGER },
    );
    if (made) return grantAccess(s, made);
    // Made meanwhile: by a run of this set (then it is ours to write), or by someone else (an error).
  }
  for (let attempt = 1; ; attempt++) {
    const live = await ownNamespace(s, namespace);
    if (!live) throw goneError(namespace);
    if (o.resourceVersion && live.metadata.resourceVersion !== o.resourceVersion)
      throw new ChangedMeanwhile(namespace);
    try {
      const ns = await s.client.patch(
        ref,
        { metadata: { resourceVersion: live.metadata.resourceVersion, labels, annotations } },
        'merge',
        { fieldManager: FIELD_MANAGER },
      );
      return grantAccess(s, ns);
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) throw goneError(namespace);
      // Changed between the read and the write (its deletion began, another run wrote it): read again.
      if (!(e instanceof KubeApiError && e.status === 409) || attempt >= 5) throw e;
      if (o.resourceVersion) throw new ChangedMeanwhile(namespace);
    }
  }
}

/** writeNamespace on a version that is not the namespace's any more: someone wrote it since it was read. */
export class ChangedMeanwhile extends C2CError {
  constructor(namespace: string) {
    super(`Namespace ${namespace} changed since it was read (another run wrote it): left as it is`);
  }
}

function goneError(namespace: string): C2CError {
  return new C2CError(
    `Namespace ${namespace} was removed while this run was writing it (a down or a reap of this set at the same moment): it is not made again. Run again if the environment is still wanted.`,
  );
}

/** What the environment's database Secret holds now (the record of its credentials), when it exists. */
export async function readDatabaseSecret(
  s: Scope,
  namespace: string,
  name: string,
): Promise<{ password?: string; database?: string; rev?: string } | undefined> {
  const secret = await s.client.get({ apiVersion: 'v1', kind: 'Secret', namespace, name });
  if (!secret) return undefined;
  const data = asObject(secret.data) ?? {};
  const text = (k: string) =>
    typeof data[k] === 'string' ? Buffer.from(data[k], 'base64').toString('utf8') : undefined;
  const password = text('password');
  if (password) s.logger.secret(password);
  const database = text('database');
  const rev = secret.metadata.annotations?.[A_CREDENTIAL_REV];
  return {
    ...(password ? { password } : {}),
    ...(database ? { database } : {}),
    ...(rev ? { rev } : {}),
  };
}

/** A new credential revision (8 hex digits). */
export const newCredentialRev = () => randomBytes(4).toString('hex');

/** Stamps the credential revision on the pod template of every workload that reads the Secret `secret`. */
export function stampCredentialReaders(objects: KubeObject[], secret: string, rev: string): string[] {
  const stamped: string[] = [];
  for (const obj of objects) {
    const template = podTemplateOf(obj);
    if (!template || !readsSecret(podSpecOf(obj), secret)) continue;
    const meta = metadataOf(template);
    meta.annotations = { ...(asObject(meta.annotations) ?? {}), [A_TEMPLATE_CREDENTIAL_REV]: rev };
    stamped.push(`${String(get(obj, 'kind'))}/${String(get(obj, 'metadata', 'name'))}`);
  }
  return stamped;
}

/** Whether the manifest is db-init's Job (read from its file with the set). */
function isInitFile(m: PreparedSet['manifests'][number], opts: FeatureEnvOptions): boolean {
  return !!opts.dbInit && path.resolve(opts.deploy!.workspace, m.file) === opts.dbInit.file;
}

/** On db-init's pod template: the run it belongs to (the commit, and whether it was the first). */
export const A_DB_INIT_RUN = 'feature-env.commit-to-cloud.dev/db-init-run';

/**
 * The set with `db-init`'s Job made ready to run (or left out, without a run): a pre-deploy Job (it
 * runs to completion before anything else is applied, and its failure stops the up with its logs),
 * every container given the database Secret's keys and FIRST_RUN, the template stamped with the run.
 */
function withDbInit(
  manifests: PreparedSet['manifests'],
  opts: FeatureEnvOptions,
  run: { firstRun: boolean; run: string } | undefined,
): PreparedSet['manifests'] {
  if (!opts.dbInit) return manifests;
  const isInit = (m: PreparedSet['manifests'][number]) => isInitFile(m, opts);
  if (!run) return manifests.filter((m) => !isInit(m));
  for (const m of manifests.filter(isInit)) {
    const job = m.object as JsonObject;
    const meta = metadataOf(job);
    meta.annotations = { ...(asObject(meta.annotations) ?? {}), [PHASE_KEY]: PRE_DEPLOY };
    const template = podTemplateOf(job);
    if (!template) continue;
    const tmeta = metadataOf(template);
    tmeta.annotations = { ...(asObject(tmeta.annotations) ?? {}), [A_DB_INIT_RUN]: run.run };
    for (const { container } of containersOf(podSpecOf(job))) {
      const env = asArray(container.env).filter((e) => get(e, 'name') !== 'FIRST_RUN');
      container.env = [...env, { name: 'FIRST_RUN', value: String(run.firstRun) }];
      const from = asArray(container.envFrom);
      if (!from.some((f) => get(f, 'secretRef', 'name') === opts.dbSecretName))
        container.envFrom = [...from, { secretRef: { name: opts.dbSecretName } }];
    }
  }
  return manifests;
}

/** Whether a pod spec reads the Secret: an env or envFrom reference, or a (projected) volume. */
function readsSecret(spec: JsonObject | undefined, secret: string): boolean {
  if (!spec) return false;
  for (const { container } of containersOf(spec)) {
    for (const e of asArray(container.env))
      if (get(e, 'valueFrom', 'secretKeyRef', 'name') === secret) return true;
    for (const e of asArray(container.envFrom)) if (get(e, 'secretRef', 'name') === secret) return true;
  }
  for (const v of asArray(spec.volumes)) {
    if (get(v, 'secret', 'secretName') === secret) return true;
    for (const src of asArray(get(v, 'projected', 'sources')))
      if (get(src, 'secret', 'name') === secret) return true;
  }
  return false;
}

/** The environment's database Secret: host, port, database, user, password, url. */
export async function writeDatabaseSecret(
  s: Scope,
  namespace: string,
  name: string,
  db: DatabaseInfo,
  rev: string,
): Promise<void> {
  s.logger.secret(db.password);
  const url = `${db.scheme ?? 'postgres'}://${encodeURIComponent(db.user)}:${encodeURIComponent(db.password)}@${db.host}:${db.port}/${encodeURIComponent(db.database)}`;
  s.logger.secret(url);
  const b64 = (v: string) => Buffer.from(v, 'utf8').toString('base64');
  await s.client.apply(
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name,
        namespace,
        labels: { 'app.kubernetes.io/managed-by': 'commit-to-cloud' },
        annotations: { [A_CREDENTIAL_REV]: rev },
      },
      type: 'Opaque',
      data: {
        host: b64(db.host),
        port: b64(String(db.port)),
        database: b64(db.database),
        user: b64(db.user),
        password: b64(db.password),
        url: b64(url),
      },
    },
    { fieldManager: FIELD_MANAGER, force: true },
  );
  s.logger.info(
    `Secret ${namespace}/${name}: database ${db.database} on ${db.host}:${db.port} (user ${db.user})`,
  );
}

/** A Secret of the team's that each environment gets a copy of (the wildcard certificate, the OIDC client). */
export interface SharedSecret {
  name: string;
  type: string;
  data: Record<string, string>;
}

/**
 * A shared Secret (`tls-secret`, the client Secret of `access-oidc`), read once per run before
 * anything is made: an error naming the input and the Role that would let the identity read it, or
 * what the Secret lacks. Its values are masked.
 */
export async function readSharedSecret(
  s: Scope,
  from: { namespace: string; name: string },
  o: { input: string; type?: string; keys: string[]; expected: string },
): Promise<SharedSecret> {
  let secret;
  try {
    secret = await s.client.get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: from.namespace,
      name: from.name,
    });
  } catch (e) {
    throw new InputError(
      o.input,
      `Secret ${from.namespace}/${from.name} cannot be read: ${errorMessage(e)}`,
      `'get' on that Secret for the feature-env identity: a Role in namespace ${from.namespace} with rules [{apiGroups: [''], resources: [secrets], resourceNames: [${from.name}], verbs: [get]}], and its RoleBinding`,
    );
  }
  const data = (asObject(secret?.data) ?? {}) as Record<string, string>;
  if (!secret || (o.type && secret.type !== o.type) || o.keys.some((k) => !data[k]))
    throw new InputError(
      o.input,
      secret
        ? `Secret ${from.namespace}/${from.name} is of type ${String(secret.type)}, or has no ${o.keys.join(' and ')}`
        : `Secret ${from.namespace}/${from.name} does not exist`,
      o.expected,
    );
  for (const k of o.keys) s.logger.secret(data[k]!);
  return {
    name: from.name,
    type: String(secret.type ?? 'Opaque'),
    data: Object.fromEntries(o.keys.map((k) => [k, data[k]!])),
  };
}

/** The wildcard certificate of `tls-secret`, read once per run (before anything is made). */
export const readTlsSecret = (s: Scope, from: { namespace: string; name: string }) =>
  readSharedSecret(s, from, {
    input: 'tls-secret',
    type: 'kubernetes.io/tls',
    keys: ['tls.crt', 'tls.key'],
    expected: 'a kubernetes.io/tls Secret with a wildcard certificate for the domain (tls.crt, tls.key)',
  });

/** Copies a shared Secret into an environment's namespace, under its own name. */
export async function writeSharedSecret(s: Scope, namespace: string, secret: SharedSecret): Promise<void> {
  await s.client.apply(
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: secret.name,
        namespace,
        labels: { 'app.kubernetes.io/managed-by': 'commit-to-cloud' },
      },
      type: secret.type,
      data: secret.data,
    },
    { fieldManager: FIELD_MANAGER, force: true },
  );
  s.logger.info(`Secret ${namespace}/${secret.name}: a copy of the team's (${secret.type})`);
}
