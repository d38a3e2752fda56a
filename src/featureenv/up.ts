import {
  C2CError,
  InputError,
  codeSpan,
  errorMessage,
  escapeMarkdown,
  formatDuration,
  formatWhen,
  markdownLink,
} from '../core/index.js';
import type { KubeObject } from '../kube/index.js';
import type { LoadBalancerService } from './hosts.js';
import { headCommit } from '../fingerprint/index.js';
import { PreDeployFailed, applyNamespace, prepareDeploy, type PreparedSet } from '../deploy/index.js';
import { checkUp, uncheckedWithoutToken } from './checks.js';
import {
  awaitNamespace,
  claimNamespace,
  deleteUnclaimed,
  readIndex,
  releaseClaim,
  updateIndex,
  type Claimed,
  type Scope,
} from './claims.js';
import { renderUpComment } from './comment.js';
import { UpProgress } from './progress.js';
import { wakeEnvironment, type Woken } from './sleep.js';
import { probeReady } from './probe.js';
import { ACCESS_SECRET, BYPASS_HEADER, writeAccessSecret } from './private.js';
import { emptyResult, type FeatureEnvContext, type FeatureEnvResult } from './context.js';
import {
  dbInitDone,
  deployInto,
  loadBalancerUrls,
  prepareEnvironment,
  newCredentialRev,
  readDatabaseSecret,
  writeDatabaseSecret,
  readSharedSecret,
  readTlsSecret,
  writeSharedSecret,
  type SharedSecret,
  writeNamespace,
} from './environment.js';
import { admitEnvironment, applyFences, quotaRefusal } from './fences.js';
import type { FeatureEnvOptions } from './inputs.js';
import { featureEnvRecorder } from './recorder.js';
import { refillPool } from './pool.js';
import { renderFeatureEnvSummary } from './summary.js';
import {
  A_ACTIVE,
  A_ASLEEP,
  A_BASELINE,
  A_CREATED,
  A_DATABASE,
  A_DB_INIT,
  A_EXPIRES,
  A_PR_URL,
  A_SHA,
  A_UPDATED,
  A_URL,
  A_URLS,
  READY_KEPT,
} from './state.js';
import type { DatabaseInfo, DatabaseProvider } from './types.js';

/**
 * The start of every up, whatever the provider: the refusals (closed, fork, labeler's permission),
 * the head commit, and the manifests checked without a cluster. A withdrawn up (the label went
 * meanwhile) is its result.
 */
export async function beginUp(
  opts: FeatureEnvOptions,
  ctx: FeatureEnvContext,
  number: number,
  o: { approvedBy?: string } = {},
): Promise<
  | { withdrawn: FeatureEnvResult }
  | { sha: string; prUrl: string | undefined; prepared: PreparedSet; t0: number }
> {
  const { logger } = ctx;
  const now = ctx.now ?? Date.now;
  const t0 = now();
  let sha = ctx.gh.pullRequest?.headSha ?? ctx.gh.sha;
  let prUrl = ctx.gh.pullRequest?.htmlUrl;
  if (ctx.github) {
    const { pr, withdrawn } = await logger.group(`Check pull request #${number}`, () =>
      checkUp(ctx.github!, opts, number, ctx.gh, logger, o),
    );
    if (withdrawn) {
      const r: FeatureEnvResult = { ...emptyResult('skipped', withdrawn), number };
      r.summary = renderFeatureEnvSummary(r);
      return { withdrawn: r };
    }
    sha = pr.headSha ?? sha;
    prUrl = pr.htmlUrl ?? prUrl;
    // A run that a comment started (issue_comment: `/feature-env up`, then `command: up`) checked out
    // the head it was given: what it deploys must be the head the pull request has now, or a push
    // after the check would be deployed unread.
    if (ctx.gh.eventName === 'issue_comment' && opts.deploy) {
      const checkedOut = await headCommit(opts.deploy.workspace);
      if (checkedOut && checkedOut !== sha)
        throw new C2CError(
          `The workspace holds commit ${checkedOut.slice(0, 12)}, but the head of pull request #${number} is ${sha?.slice(0, 12) ?? 'unknown'} (new commits came after the check): nothing was deployed. Comment /feature-env up again.`,
        );
    }
  } else uncheckedWithoutToken(opts, number, logger);
  if (!sha)
    throw new C2CError(`The head commit of pull request #${number} is unknown: no environment is made.`);
  const prepared = await precheck(opts, ctx);
  return { sha, prUrl, prepared, t0 };
}

/**
 * up (and update): the refusals first (closed, fork, labeler's permission) and the manifests checked
 * without a cluster, so bad input creates nothing; then the pull request's namespace (its own, a
 * ready spare, or a new one), its database and Secret, the deploy of the set with the images under
 * test (only changed services roll), the GitHub Deployment, the one PR comment, the summary; then
 * the warm pool refilled. A failure before the deploy gives back what it took.
 */
export async function up(
  opts: FeatureEnvOptions,
  ctx: FeatureEnvContext,
  s: Scope,
  db: DatabaseProvider | undefined,
  number: number,
  o: { approvedBy?: string } = {},
): Promise<FeatureEnvResult> {
  const begun = await beginUp(opts, ctx, number, o);
  if ('withdrawn' in begun) return begun.withdrawn;
  const { sha, prUrl, prepared, t0 } = begun;
  // The certificate of tls-secret, read before anything is made.
  const tls = opts.tlsSecret ? await readTlsSecret(s, opts.tlsSecret) : undefined;
  // alb-oidc: the OIDC client's Secret, read before anything is made too.
  const oidcClient = opts.access.oidc
    ? await readSharedSecret(s, opts.access.oidc.secret, {
        input: 'access-oidc',
        keys: ['clientID', 'clientSecret'],
        expected: "a Secret with the OIDC client's clientID and clientSecret",
      })
    : undefined;
  await admitEnvironment(s, ctx, opts.fences, number);
  // From here the PR comment says it is being deployed, and how each service stands.
  const progress = new UpProgress(ctx, number, sha, prepared, t0);
  progress.show();
  try {
    return await upChecked(opts, ctx, s, db, { number, sha, prUrl, prepared, tls, oidcClient, progress, t0 });
  } catch (e) {
    await progress.fail(withReport(e));
    throw e;
  }
}

/**
 * The error for the comment: with a failed pre-deploy Job (db-init), the report of its pods, their
 * events and the end of their logs, folded, at most 6000 characters of it.
 */
export function withReport(e: unknown): string {
  const message = errorMessage(e);
  if (!(e instanceof PreDeployFailed) || !e.report.trim()) return message;
  const report = e.report.length > 6000 ? `…${e.report.slice(-6000)}` : e.report;
  return `${message}\n\n<details><summary>What its pods said (events, the end of the logs)</summary>\n\n\`\`\`\n${report.replaceAll('```', "'''")}\n\`\`\`\n</details>`;
}

/** up once its input is checked: claim, make or update, deploy, record, comment, refill. */
export async function upChecked(
  opts: FeatureEnvOptions,
  ctx: FeatureEnvContext,
  s: Scope,
  db: DatabaseProvider | undefined,
  o: {
    number: number;
    sha: string;
    prUrl: string | undefined;
    prepared: PreparedSet;
    tls: SharedSecret | undefined;
    oidcClient: SharedSecret | undefined;
    progress: UpProgress;
    t0: number;
  },
): Promise<FeatureEnvResult> {
  const { logger } = ctx;
  const now = ctx.now ?? Date.now;
  const { number, sha, prUrl, prepared, tls, oidcClient, progress, t0 } = o;
  let accessToken: string | undefined;
  const claimed = await logger.group('Claim a namespace', async () => {
    const c = await claimNamespace(s, number, opts.warmPool > 0, {
      maxEnvironments: opts.fences.maxEnvironments,
    });
    logger.info(
      c.existing
        ? `#${number} has ${c.namespace} already: update`
        : c.fromPool
          ? `#${number} takes the spare ${c.namespace} from the warm pool`
          : `#${number} gets the new namespace ${c.namespace}`,
    );
    return c;
  });
  const iso = (ms: number) => new Date(ms).toISOString();
  const expiresAt = iso(now() + opts.ttlMs);
  let database: string | undefined;
  let dataFrom: DatabaseInfo['dataFrom'];
  let credentialRev: string | undefined;
  progress.at(claimed.namespace);
  // Another run for this pull request claimed the namespace a moment ago: wait until it is made.
  if (claimed.pending) await awaitNamespace(s, number, claimed.namespace);
  // An environment's own (its creation time), or the spare's (its baseline, for the comment).
  const live =
    claimed.existing || claimed.fromPool
      ? await s.client.get({ apiVersion: 'v1', kind: 'Namespace', name: claimed.namespace })
      : undefined;
  const annotations: Record<string, string> = {
    [A_SHA]: sha,
    [A_EXPIRES]: expiresAt,
    [A_UPDATED]: iso(now()),
    [A_ACTIVE]: iso(now()),
    [A_CREATED]: (claimed.existing && live?.metadata.annotations?.[A_CREATED]) || iso(now()),
    ...(prUrl ? { [A_PR_URL]: prUrl } : {}),
  };
  try {
    await writeNamespace(s, claimed.namespace, 'active', {
      number,
      annotations,
      create: !claimed.existing && !claimed.fromPool,
    });
    await confirmClaim(s, number, claimed);
    await applyFences(s, claimed.namespace, opts.fences);
    if (tls) await writeSharedSecret(s, claimed.namespace, tls);
    if (oidcClient) await writeSharedSecret(s, claimed.namespace, oidcClient);
    if (opts.access.mode !== 'public') accessToken = await writeAccessSecret(s, claimed.namespace);
    if (db) {
      // The Secret is the record of the credentials: an update keeps its password (running services
      // hold it); a new one only with rotate-db-password, and then its readers roll (credentialRev).
      const record = await readDatabaseSecret(s, claimed.namespace, opts.dbSecretName);
      const info = await logger.group('Database', () =>
        db.claim({ number, namespace: claimed.namespace }, logger, {
          ...(record?.password ? { password: record.password } : {}),
          rotate: opts.rotateDbPassword,
        }),
      );
      const changed = info.password !== record?.password;
      credentialRev = !changed && record?.rev ? record.rev : newCredentialRev();
      await writeDatabaseSecret(s, claimed.namespace, opts.dbSecretName, info, credentialRev);
      if (changed && record?.password)
        logger.info(
          `database ${info.id}: a new password (rotate-db-password); the workloads that read Secret ${opts.dbSecretName} roll`,
        );
      database = info.id;
      dataFrom = info.dataFrom;
    }
  } catch (e) {
    await giveBack(s, ctx, db, number, claimed, e);
    throw e;
  }

  // Asleep (sleep-after): its services come back, with their replicas, before the deploy.
  if (live?.metadata.annotations?.[A_ASLEEP]) {
    progress.stepTo('wake');
    await logger.group(`Wake ${claimed.namespace}`, () => wake(s, claimed.namespace, number, opts, ctx));
  }

  let url = '';
  const recorder = ctx.github
    ? featureEnvRecorder(ctx.github, {
        number,
        sha,
        url: () => url || undefined,
        ...(ctx.gh.runUrl ? { logUrl: ctx.gh.runUrl } : {}),
      })
    : undefined;
  const audit = {
    commit: sha,
    ...(ctx.gh.ref ? { ref: ctx.gh.ref } : {}),
    ...(ctx.gh.runUrl ? { runUrl: ctx.gh.runUrl } : {}),
    ...(ctx.gh.actor ? { actor: ctx.gh.actor } : {}),
  };
  let result;
  let urls: Array<{ service: string; url: string; ingress?: string }>;
  let loadBalancers: LoadBalancerService[];
  let dbInit: { firstRun: boolean; run: string; job?: string } | undefined;
  try {
    // db-init: FIRST_RUN until it has set up this very database once (a new one, a reset one).
    const firstRun = database !== undefined && live?.metadata.annotations?.[A_DB_INIT] !== database;
    dbInit =
      opts.dbInit && database
        ? { firstRun, run: `${sha.slice(0, 12)}-${firstRun ? 'first' : 'update'}` }
        : undefined;
    const env = await prepareEnvironment(opts, ctx, claimed.namespace, {
      number,
      underTest: true,
      prepared,
      ...(credentialRev ? { credentialRev } : {}),
      ...(dbInit ? { dbInit } : {}),
      ...(accessToken ? { accessToken } : {}),
    });
    if (dbInit && env.dbInitJob) dbInit.job = env.dbInitJob;
    urls = env.urls;
    url = urls[0]?.url ?? '';
    loadBalancers = env.loadBalancers;
    result = await deployInto(ctx, env, {
      audit,
      ...(recorder ? { recorder } : {}),
      onProgress: progress.onProgress,
    });
  } catch (e) {
    // Refused before anything of the set was written (the server's validation): nothing stays.
    if (!claimed.existing) await giveBack(s, ctx, db, number, claimed, e);
    throw e;
  }
  // No Ingress and no domain: the LoadBalancer Services' addresses are the URLs, once assigned.
  if (!result.failure && loadBalancers.length) {
    urls = await loadBalancerUrls(s, claimed.namespace, loadBalancers, {
      waitMs: Math.min(opts.timeoutMs, 300_000),
      ...(ctx.now ? { now: ctx.now } : {}),
    });
    url = urls[0]?.url ?? '';
  }
  // ready-probe: usable, not only rolled out.
  let readyAt = now();
  if (!result.failure && opts.readyProbe) {
    const first = urls[0];
    if (!first)
      logger.warning(
        `ready-probe ${opts.readyProbe}: the environment has no URL to ask; it is ready when its rollouts are`,
      );
    else
      try {
        const answered = await logger.group(`Ready probe: ${first.url}${opts.readyProbe}`, () =>
          probeReady(
            s,
            claimed.namespace,
            { url: first.url, ...(first.ingress ? { ingress: first.ingress } : {}), path: opts.readyProbe },
            { deadline: now() + opts.timeoutMs, logger, now },
          ),
        );
        readyAt = answered.answeredAt;
      } catch (e) {
        result.failure = errorMessage(e);
        // The GitHub Deployment said success when the rollouts ended: it is not usable after all.
        if (ctx.github && result.deploymentId)
          await ctx.github
            .createDeploymentStatus(Number(result.deploymentId), {
              state: 'failure',
              description: 'the ready probe did not answer',
            })
            .catch(() => undefined);
      }
  }
  if (result.failure) {
    const quota = await quotaRefusal(s, claimed.namespace, opts.fences);
    if (quota) result.failure += ` ${quota}`;
  }
  // From the event that asked (the label, the push, the comment), when the payload says when.
  const readyMs = readyAt - eventStart(ctx.gh.eventAt, t0);
  if (!result.failure && !claimed.existing)
    await updateIndex(s, (index) => ({
      ...index,
      ready: [
        ...(index.ready ?? []),
        {
          n: number,
          s: Math.round(readyMs / 100) / 10,
          at: now(),
          ...(claimed.fromPool ? { pool: true } : {}),
        },
      ].slice(-READY_KEPT),
    })).catch((e: unknown) => logger.warning(`could not record the time to ready: ${errorMessage(e)}`));
  await writeNamespace(s, claimed.namespace, 'active', {
    number,
    annotations: {
      ...annotations,
      ...(url ? { [A_URL]: url, [A_URLS]: JSON.stringify(urls) } : {}),
      // Set up: this run's db-init Job completed (even when a rollout failed after it).
      ...(dbInit?.job && database && (await dbInitDone(s, claimed.namespace, dbInit.job, dbInit.run))
        ? { [A_DB_INIT]: database }
        : {}),
      ...(database ? { [A_DATABASE]: database } : {}),
    },
  });
  const images = result.changes
    .filter((c) => c.from !== c.to)
    .map((c) => ({ workload: `${c.kind}/${c.name}`, image: c.to }));
  if (result.failure) await progress.fail(result.failure);
  else
    await progress.finish(
      renderUpComment({
        number,
        sha,
        namespace: claimed.namespace,
        urls,
        images,
        links: opts.links.map(([name, t]) => [
          name,
          t
            .replaceAll('{namespace}', claimed.namespace)
            .replaceAll('{number}', String(number))
            .replaceAll('{sha}', sha),
        ]),
        expiresAt,
        now: now(),
        readyMs,
        fromPool: claimed.fromPool,
        updated: claimed.existing,
        data: dataAge({
          spare: claimed.fromPool ? live : undefined,
          dataFrom,
          now: now(),
        }),
        ...(database ? { database } : {}),
        ...(ctx.gh.runUrl ? { runUrl: ctx.gh.runUrl } : {}),
        ...(opts.access.mode !== 'public' ? { access: accessNote(opts.access) } : {}),
      }),
    );
  const out: FeatureEnvResult = {
    ...emptyResult(
      claimed.existing ? 'updated' : 'up',
      claimed.existing
        ? `updated with commit ${sha.slice(0, 7)}`
        : claimed.fromPool
          ? 'made for this pull request from a warm spare'
          : 'made for this pull request',
    ),
    number,
    namespace: claimed.namespace,
    url,
    deploymentId: result.deploymentId,
    expiresAt,
    readySeconds: (readyMs / 1000).toFixed(1),
    ...(result.failure ? { failure: result.failure } : {}),
    builds: result.builds,
  };
  logger.info(
    `#${number}: ${claimed.namespace} ${result.failure ? 'failed' : `ready in ${formatDuration(readyMs)}`}${url ? ` at ${url}` : ''}`,
  );
  if (opts.warmPool > 0) {
    try {
      await refillPool(opts, ctx, s);
    } catch (e) {
      logger.warning(`could not refill the warm pool: ${errorMessage(e)}`);
    }
  }
  out.summary = renderFeatureEnvSummary(out, {
    rows: result.rows,
    fromPool: claimed.fromPool,
    database,
    now: now(),
  });
  return out;
}

/**
 * Wakes a sleeping environment: its workloads' replicas restored and ready, then the namespace's
 * asleep mark cleared (a wake that fails leaves it, so the next one tries again).
 */
export async function wake(
  s: Scope,
  namespace: string,
  number: number,
  opts: FeatureEnvOptions,
  ctx: FeatureEnvContext,
): Promise<Woken> {
  const woken = await wakeEnvironment(s, namespace, {
    timeoutMs: opts.timeoutMs,
    logger: ctx.logger,
    ...(ctx.now ? { now: ctx.now } : {}),
    ...(opts.deploy?.failFast ? { failFast: { graceMs: opts.deploy.failFastGraceMs } } : {}),
  });
  if (woken.failed.length)
    throw new C2CError(
      `The environment of #${number} did not wake: ${woken.failed.map((f) => `${f.key} (${f.message})`).join('; ')}. It stays marked asleep; wake it again, or push a fix.`,
    );
  await writeNamespace(s, namespace, 'active', {
    number,
    annotations: { [A_ASLEEP]: null, [A_ACTIVE]: new Date((ctx.now ?? Date.now)()).toISOString() },
  });
  return woken;
}

/**
 * How old the environment's data is, in sentences for the comment: the spare's baseline (the commit
 * its services came from, and when it was made) and where the database came from (the template or
 * snapshot, and when that was made).
 */
function dataAge(o: {
  spare: KubeObject | undefined;
  dataFrom: DatabaseInfo['dataFrom'];
  now: number;
}): string[] {
  const out: string[] = [];
  const a = o.spare?.metadata.annotations ?? {};
  if (o.spare) {
    const baseline = a[A_BASELINE];
    const made = a[A_CREATED];
    out.push(
      `The services not under test came with the warm spare${baseline ? `, from commit ${codeSpan(baseline.slice(0, 12))}` : ''}${made ? ` (made ${escapeMarkdown(formatWhen(made, o.now))})` : ''}.`,
    );
  }
  if (o.dataFrom) {
    const f = o.dataFrom;
    out.push(
      `The database's data is from the ${f.kind} ${codeSpan(f.name)}${f.at ? `, made ${escapeMarkdown(formatWhen(f.at, o.now))}` : ''}${f.madeAt ? `; this copy was made ${escapeMarkdown(formatWhen(f.madeAt, o.now))}` : ''}.`,
    );
  }
  return out;
}

/** The comment's word on private URLs: who gets in, and how automated tests do. */
function accessNote(access: FeatureEnvOptions['access']): string {
  const tests = `Automated tests: the bypass token is in the namespace's Secret ${codeSpan(ACCESS_SECRET)} (key ${codeSpan('token')})`;
  return access.mode === 'ingress-nginx-oauth'
    ? `🔒 Private: you sign in through ${markdownLink(access.url!, access.url!)} (whom the team's oauth2-proxy admits). ${tests}; send it as HTTP Basic ${codeSpan('bypass:<token>')}.`
    : `🔒 Private: the load balancer asks you to sign in (OIDC, ${escapeMarkdown(access.oidc!.issuer)}). ${tests}; send it in the header ${codeSpan(BYPASS_HEADER)}.`;
}

/**
 * When the event that asked for the environment happened (the payload's time), or the step's start
 * when the payload says nothing, says a time after the start, or one more than a day before it (a
 * re-run of an old event: its time says nothing about this run).
 */
export function eventStart(eventAt: string | undefined, t0: number): number {
  const t = eventAt ? Date.parse(eventAt) : NaN;
  return Number.isFinite(t) && t <= t0 && t0 - t < 86_400_000 ? t : t0;
}

/**
 * Everything that needs no cluster: the manifests read (once: the deploy uses this set), free of
 * namespaces, the images under test matched.
 */
async function precheck(opts: FeatureEnvOptions, ctx: FeatureEnvContext): Promise<PreparedSet> {
  const prepared = await prepareDeploy(opts.deploy!, ctx);
  const { manifests } = prepared;
  // Namespace-free: checked on copies (the deploy gives the objects the environment's namespace).
  applyNamespace(
    manifests.map((m) => ({ object: structuredClone(m.object), file: m.file, line: m.line })),
    'precheck',
  );
  const ingress = manifests.find((m) => m.object.kind === 'Ingress');
  // On a machine of its own, the domain defaults to the instance's address (<address>.nip.io).
  if (ingress && opts.hostTemplate.includes('{domain}') && !opts.domain && !opts.machine)
    throw new InputError(
      'domain',
      `is empty, but 'host-template' uses {domain} for the hosts of the Ingresses (${ingress.file}:${ingress.line})`,
      "a base domain such as 'preview.example.com', or a host-template without {domain}",
    );
  return prepared;
}

/**
 * After the namespace's first write: the claim must still name it. A down that ran between the claim
 * and the namespace's making found nothing to delete and released the claim; the namespace this run
 * made then belongs to no claim, so it goes again (when no claim names it) and the up stops.
 */
async function confirmClaim(s: Scope, number: number, claimed: Claimed): Promise<void> {
  const index = await readIndex(s);
  if (index.claims[String(number)]?.namespace === claimed.namespace) return;
  await deleteUnclaimed(s, claimed.namespace, index).catch(() => false);
  throw new C2CError(
    `The environment of #${number} was taken down (its claim on ${claimed.namespace} released) while this run was making it: nothing stays. Run again if the environment is still wanted.`,
  );
}

/**
 * After a failure before the deploy wrote anything of the set: the namespace, the database and the
 * claim go back, only while the index still names this run's namespace for the pull request (what
 * another run holds is never removed).
 */
async function giveBack(
  s: Scope,
  ctx: FeatureEnvContext,
  db: DatabaseProvider | undefined,
  number: number,
  claimed: Claimed,
  cause: unknown,
): Promise<void> {
  if (claimed.existing) return;
  const current = (await readIndex(s).catch(() => undefined))?.claims[String(number)];
  if (current?.namespace !== claimed.namespace) return;
  ctx.logger.info(`giving back ${claimed.namespace} after: ${errorMessage(cause).split('\n')[0]}`);
  await s.client.delete({ apiVersion: 'v1', kind: 'Namespace', name: claimed.namespace }).catch(() => false);
  if (db) await db.release({ number }, ctx.logger).catch(() => false);
  await releaseClaim(s, number, claimed.namespace).catch(() => undefined);
}
