import { C2CError, onTermination, withDefaults } from '../../core/index.js';
import {
  DEPLOY_INPUTS,
  deployOutputs,
  lockDetail,
  parseDeployInputs,
  processHolder,
  renderDeploy,
  runDeploy,
} from '../../deploy/index.js';
import type { CliCommand, CommandResult } from '../command.js';
import { KUBECONFIG_FLAG_HELP, currentCommit, useKubeconfigFile } from '../context.js';

/** `c2c deploy`: action-deploy-k8s's engine; `--render` stops before the cluster and prints the YAML. */
export const deployCommand: CliCommand = {
  name: 'deploy',
  summary:
    'Build and push the app image, pin manifests to digests, apply, watch the rollout, roll back on failure.',
  inputs: DEPLOY_INPUTS,
  required: ['manifests|chart'],
  helpOverrides: { kubeconfig: KUBECONFIG_FLAG_HELP },
  own: {
    render: {
      boolean: true,
      description:
        'Contact no cluster: read the manifests, substitute images, build and push (with --build-context), pin digests, annotate, and print the YAML that would be applied (c2c plan does the same without building, and adds the diff).',
    },
  },
  async run({ raw, own, g }, logger): Promise<CommandResult> {
    useKubeconfigFile(raw);
    const { sha, audit } = await deployAudit(g.workspace);
    const opts = parseDeployInputs(withDefaults(DEPLOY_INPUTS, raw, 'flag'), g.workspace, {
      ...(sha ? { sha } : {}),
      ...(process.env.AWS_REGION ? { awsRegion: process.env.AWS_REGION } : {}),
      ...(cliRepository() ? { repository: cliRepository()! } : {}),
    });
    if (opts.environment)
      throw new C2CError(
        '--environment records a GitHub Deployment, which only the action does; leave it out here',
      );
    const detail = lockDetail(audit);
    const ctx = {
      logger,
      // This process holds the deploy lock, the same Lease the action takes.
      lock: { holder: processHolder(), ...(detail ? { detail } : {}) },
      ...(audit ? { audit, revision: audit.commit } : {}),
      ...(process.env.C2C_SOURCE ? { source: process.env.C2C_SOURCE } : {}),
    };
    if (own.render) {
      // Everything that needs no cluster; the YAML of exactly what would be applied goes to stdout.
      const rendered = await renderDeploy(opts, ctx);
      return { outputs: { image: rendered.image, digest: rendered.digest }, document: rendered.yaml };
    }
    // Ctrl-C, or the CI's SIGTERM: the deploy ends where it stands (finished or undone), not half-way.
    const termination = onTermination((m) => logger.warning(m));
    let r: Awaited<ReturnType<typeof runDeploy>>;
    try {
      r = await runDeploy(opts, { ...ctx, signal: termination.signal });
    } finally {
      termination.dispose();
    }
    if (r.failure) logger.error(r.failure);
    return {
      outputs: deployOutputs(r),
      text: `\n${r.summary}\n`,
      ...(r.failure ? { exitCode: 1 } : {}),
    };
  },
};

/** The repository a prune set is named by outside GitHub Actions: C2C_REPOSITORY, else GITHUB_REPOSITORY. */
export function cliRepository(): string | undefined {
  return process.env.C2C_REPOSITORY || process.env.GITHUB_REPOSITORY || undefined;
}

/** What `c2c deploy` and `c2c plan` record: the commit (C2C_REVISION, the CI's, git HEAD) and who (C2C_ACTOR, USER). */
export async function deployAudit(
  workspace: string,
): Promise<{ sha?: string; audit?: { commit: string; actor?: string } }> {
  const sha = await currentCommit(workspace);
  if (!sha) return {};
  const actor = process.env.C2C_ACTOR || process.env.USER;
  return { sha, audit: { commit: sha, ...(actor ? { actor } : {}) } };
}
