import { C2CError, codeSpan, errorMessage, parseDuration, shortDuration } from '../core/index.js';
import { watchWorkloads } from '../deploy/index.js';
import { headCommit } from '../fingerprint/index.js';
import type { GitHubClient } from '../github/index.js';
import type { KubeObject } from '../kube/index.js';
import { FIELD_MANAGER, environments, readIndex, type Scope } from './claims.js';
import { checkUp, permits } from './checks.js';
import { COMMANDS_HINT, COMMENT_MARKER, renderStatusComment } from './comment.js';
import { emptyResult, type FeatureEnvContext, type FeatureEnvResult } from './context.js';
import { teardown } from './down.js';
import {
  A_TEMPLATE_CREDENTIAL_REV,
  newCredentialRev,
  stampCredentialReaders,
  writeDatabaseSecret,
  writeNamespace,
} from './environment.js';
import type { Decision } from './event.js';
import type { FeatureEnvOptions } from './inputs.js';
import {
  A_ACTIVE,
  A_DATABASE,
  A_DB_INIT,
  A_EXPIRES,
  A_KEEP,
  environmentOf,
  type Environment,
} from './state.js';
import { renderFeatureEnvSummary } from './summary.js';
import type { DatabaseProvider } from './types.js';
import { up, wake } from './up.js';

/**
 * Commands in the pull request (`issue_comment`, `command: auto`): a comment whose line starts with
 * `/feature-env` gives one. It is checked first (a known command, its argument) and so is its
 * author (the `required-permission` on the repository): anyone else gets a reply saying which
 * permission is needed, and nothing changes. An accepted command is acknowledged with a reaction
 * (eyes), done, and its result is the environment's comment, updated; the reaction then says how it
 * ended (rocket, or confused with a reply saying why).
 */
export const PR_COMMANDS = ['up', 'down', 'extend', 'keep', 'unkeep', 'wake', 'reset-db', 'status'] as const;
type PrCommandName = (typeof PR_COMMANDS)[number];

export async function runPrCommand(
  opts: FeatureEnvOptions,
  ctx: FeatureEnvContext,
  s: Scope,
  db: DatabaseProvider | undefined,
  decision: Decision,
): Promise<FeatureEnvResult> {
  const number = decision.number!;
  const cmd = decision.prCommand!;
  const github = ctx.github;
  if (!github)
    throw new C2CError(
      `A /feature-env comment needs the GitHub token (input 'token'): to check who wrote it, to react and to answer. Nothing was done.`,
    );
  const said = `/feature-env ${cmd.name}${cmd.arg ? ` ${cmd.arg}` : ''}`;
  const refuse = async (why: string): Promise<FeatureEnvResult> => {
    await github.react(cmd.commentId, 'confused').catch(() => undefined);
    await github.reply(number, `@${cmd.author}: ${codeSpan(said)} ${why}`);
    ctx.logger.warning(`${said} by ${cmd.author}: ${why}`);
    const r: FeatureEnvResult = { ...emptyResult('skipped', `${said} by ${cmd.author}: ${why}`), number };
    r.summary = renderFeatureEnvSummary(r);
    return r;
  };

  // The command and its argument, then its author: nothing is done for a command that is not right.
  if (!(PR_COMMANDS as readonly string[]).includes(cmd.name))
    return refuse(
      `${cmd.name ? `is not a command I know` : 'names no command'}: nothing was done. ${COMMANDS_HINT}`,
    );
  const name = cmd.name as PrCommandName;
  let extendMs = 0;
  if (name === 'extend') {
    try {
      extendMs = parseDuration('extend', cmd.arg || undefined);
    } catch {
      return refuse(
        `needs a duration, e.g. ${codeSpan('/feature-env extend 2d')} (s, m, h or d): ${cmd.arg ? `${codeSpan(cmd.arg)} is none` : 'none was given'}. Nothing was done.`,
      );
    }
    if (extendMs <= 0) return refuse('needs a duration longer than 0. Nothing was done.');
  } else if (cmd.arg) return refuse(`takes no argument (${codeSpan(cmd.arg)} was given). Nothing was done.`);
  const role = await github.collaboratorPermission(cmd.author);
  if (!permits(role, opts.requiredPermission))
    return refuse(
      `needs the permission ${codeSpan(opts.requiredPermission)} on this repository, and you have ${codeSpan(role)}: nothing was done. Someone with ${codeSpan(opts.requiredPermission)} can give the command.`,
    );
  ctx.logger.info(`${said} by ${cmd.author} (${role})`);
  await github.react(cmd.commentId, 'eyes').catch((e: unknown) => {
    ctx.logger.warning(`could not react to the comment: ${errorMessage(e)}`);
  });

  try {
    const r = await perform(name, opts, ctx, s, db, github, { number, extendMs, author: cmd.author });
    await github.react(cmd.commentId, r.failure ? 'confused' : 'rocket').catch(() => undefined);
    return r;
  } catch (e) {
    await github.react(cmd.commentId, 'confused').catch(() => undefined);
    await github
      .reply(number, `@${cmd.author}: ${codeSpan(said)} failed: ${errorMessage(e)}`)
      .catch(() => undefined);
    throw e;
  }
}

async function perform(
  name: PrCommandName,
  opts: FeatureEnvOptions,
  ctx: FeatureEnvContext,
  s: Scope,
  db: DatabaseProvider | undefined,
  github: GitHubClient,
  o: { number: number; extendMs: number; author: string },
): Promise<FeatureEnvResult> {
  const { number, author } = o;
  const now = (ctx.now ?? Date.now)();
  const iso = (ms: number) => new Date(ms).toISOString();
  if (name === 'up') {
    if (!opts.deploy)
      throw new C2CError(
        "Input 'manifests': is empty, but /feature-env up asks for an environment. Expected the manifests of the full set of services, e.g. 'k8s/'.",
      );
    // The pull request is checked before any of its code is checked out (open, not a fork unless
    // allow-forks), and the label goes on: the token adds it, and the checks of the up and of later
    // pushes take this comment's author as the one who asked (checkUp).
    const { pr } = await checkUp(github, opts, number, ctx.gh, ctx.logger, { approvedBy: author });
    if (!(await github.listLabels(number)).includes(opts.label)) await github.addLabels(number, [opts.label]);
    // A comment's run checks out the default branch: the pull request's code comes only now, in the
    // workflow's next steps (status `checked`, the head in `head-sha`), then `command: up`.
    const checkedOut = await headCommit(opts.deploy.workspace);
    if (!pr.headSha || checkedOut !== pr.headSha) {
      const r: FeatureEnvResult = {
        ...emptyResult(
          'checked',
          `/feature-env up by ${author}: checked and labelled; the workflow checks out ${pr.headSha?.slice(0, 12) ?? 'the head'} and runs command: up`,
        ),
        number,
        ...(pr.headSha ? { headSha: pr.headSha } : {}),
      };
      r.summary = renderFeatureEnvSummary(r);
      return r;
    }
    return up(opts, ctx, s, db, number, { approvedBy: author });
  }
  if (name === 'down') {
    const gone = await teardown(s, ctx, db, {
      number,
      reason: `${author} asked for it (/feature-env down)`,
      waitMs: Math.min(opts.timeoutMs, 120_000),
    });
    // Without the label, a push does not bring it back (an unlabeled run that follows finds nothing).
    await github.removeLabel(number, opts.label).catch(() => false);
    const r: FeatureEnvResult = {
      ...emptyResult(
        'down',
        `/feature-env down by ${author}${gone.namespace ? '' : '; there was no environment'}`,
      ),
      number,
      namespace: gone.namespace,
    };
    r.summary = renderFeatureEnvSummary(r);
    return r;
  }

  const env = await environmentFor(s, number);
  if (!env)
    throw new C2CError(
      `Pull request #${number} has no environment: add the label '${opts.label}' or comment /feature-env up to make one.`,
    );
  const annotations: Record<string, string | null> = { [A_ACTIVE]: iso(now) };
  let done: string;
  let woke = false;
  switch (name) {
    case 'extend': {
      const from = Math.max(Date.parse(env.expiresAt ?? '') || now, now);
      annotations[A_EXPIRES] = iso(from + o.extendMs);
      done = `@${author} extended it by ${shortDuration(o.extendMs / 1000)}.`;
      break;
    }
    case 'keep':
      annotations[A_KEEP] = 'true';
      done = `@${author} keeps it: no expiry, no sleep.`;
      woke = !!env.asleepSince;
      break;
    case 'unkeep': {
      annotations[A_KEEP] = null;
      const expires = Math.max(Date.parse(env.expiresAt ?? '') || 0, now + opts.ttlMs);
      annotations[A_EXPIRES] = iso(expires);
      done = `@${author} no longer keeps it: it expires and sleeps as the others do.`;
      break;
    }
    case 'wake':
      woke = !!env.asleepSince;
      done = woke ? `@${author} woke it up.` : `@${author} asked to wake it: it was awake.`;
      break;
    case 'reset-db': {
      if (!db)
        throw new C2CError(
          `/feature-env reset-db: this environment has no database (input 'database' is none).`,
        );
      const id = await resetDatabase(opts, ctx, s, db, env);
      annotations[A_DATABASE] = id;
      // A fresh copy: db-init seeds it again (FIRST_RUN=true) at the next up.
      annotations[A_DB_INIT] = null;
      done = `@${author} reset its database: ${id} is a fresh copy, and the services that read it restarted.${opts.dbInit ? ' db-init sets it up (FIRST_RUN=true) at the next push.' : ''}`;
      break;
    }
    case 'status':
      done = `@${author} asked for its status.`;
      break;
  }
  if (woke) await ctx.logger.group(`Wake ${env.namespace}`, () => wake(s, env.namespace, number, opts, ctx));
  const ns = await writeNamespace(s, env.namespace, 'active', { number, annotations });
  const after = environmentOf(ns);
  await github.upsertComment(
    number,
    COMMENT_MARKER,
    renderStatusComment({
      number,
      namespace: after.namespace,
      ...(after.sha ? { sha: after.sha } : {}),
      urls: after.urls,
      ...(after.expiresAt ? { expiresAt: after.expiresAt } : {}),
      keep: after.keep,
      ...(after.asleepSince ? { asleepSince: after.asleepSince } : {}),
      ...(after.database ? { database: after.database } : {}),
      done,
      now: (ctx.now ?? Date.now)(),
    }),
  );
  const r: FeatureEnvResult = {
    ...emptyResult('updated', `/feature-env ${name} by ${author}`),
    number,
    namespace: after.namespace,
    url: after.url ?? '',
    expiresAt: after.keep ? '' : (after.expiresAt ?? ''),
  };
  r.summary = renderFeatureEnvSummary(r, { now: (ctx.now ?? Date.now)() });
  return r;
}

/** The pull request's environment: its claim's namespace, else one of the set labelled for it. */
async function environmentFor(s: Scope, number: number): Promise<Environment | undefined> {
  const claimed = (await readIndex(s)).claims[String(number)]?.namespace;
  const envs = (await environments(s, { number, state: 'active' })).filter((e) => !e.terminating);
  return envs.find((e) => e.namespace === claimed) ?? envs[0];
}

/**
 * `/feature-env reset-db`: the database goes (dropped, or its RDS instance deleted) and a fresh one
 * is cloned or claimed; its Secret gets the new credentials under a new revision, stamped on the
 * pod template of every workload that reads it (so exactly those roll, as a rotated password does),
 * and the run waits until they are ready.
 */
async function resetDatabase(
  opts: FeatureEnvOptions,
  ctx: FeatureEnvContext,
  s: Scope,
  db: DatabaseProvider,
  env: Environment,
): Promise<string> {
  const { logger } = ctx;
  const number = env.number!;
  return logger.group('Reset the database', async () => {
    await db.release({ number }, logger);
    const info = await db.claim({ number, namespace: env.namespace }, logger, { rotate: true });
    const rev = newCredentialRev();
    await writeDatabaseSecret(s, env.namespace, opts.dbSecretName, info, rev);
    const written: KubeObject[] = [];
    const since: Array<{ apiVersion: string; kind: string; namespace: string; resourceVersion: string }> = [];
    for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet']) {
      const list = await s.client.list('apps/v1', kind, { namespace: env.namespace });
      if (list.metadata?.resourceVersion)
        since.push({
          apiVersion: 'apps/v1',
          kind,
          namespace: env.namespace,
          resourceVersion: list.metadata.resourceVersion,
        });
      // Which of them read the Secret: the same test as the deploy's stamp, on copies.
      const readers = new Set(stampCredentialReaders(structuredClone(list.items), opts.dbSecretName, rev));
      for (const w of list.items) {
        if (!readers.has(`${kind}/${w.metadata.name}`)) continue;
        written.push(
          await s.client.patch(
            { apiVersion: 'apps/v1', kind, namespace: env.namespace, name: String(w.metadata.name) },
            { spec: { template: { metadata: { annotations: { [A_TEMPLATE_CREDENTIAL_REV]: rev } } } } },
            'merge',
            { fieldManager: FIELD_MANAGER },
          ),
        );
      }
    }
    logger.info(
      `database ${info.id}: fresh; ${written.length ? `rolling ${written.map((w) => `${w.kind}/${w.metadata.name}`).join(', ')}` : 'no workload reads its Secret'}`,
    );
    if (written.length) {
      const outcome = await watchWorkloads(s.client, written, since, {
        timeoutMs: opts.timeoutMs,
        logger,
        now: ctx.now ?? Date.now,
      });
      const failed = [...outcome].filter(([, r]) => !r.status.done);
      if (failed.length)
        throw new C2CError(
          `The database of #${number} was reset, but ${failed.map(([k, r]) => `${k} (${r.status.message})`).join('; ')} did not become ready.`,
        );
    }
    return info.id;
  });
}
