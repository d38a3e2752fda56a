import { C2CError, onTermination } from '../../core/index.js';
import {
  DEPLOY_INPUTS,
  parseDeployInputs,
  runDeploy,
  auditFromGitHub,
  githubRecorder,
  deployOutputs,
  lockDetail,
  processHolder,
} from '../../deploy/index.js';
import { GitHubClient, githubContextFromEnv } from '../../github/index.js';
import { actionLogger, readInputs, runAction, setOutputs, writeSummary } from '../runtime.js';

await runAction(
  async () => {
    const logger = actionLogger();
    const gh = githubContextFromEnv();
    const opts = parseDeployInputs(readInputs(DEPLOY_INPUTS), process.env.GITHUB_WORKSPACE || process.cwd(), {
      ...(gh.sha ? { sha: gh.sha } : {}),
      ...(process.env.AWS_REGION ? { awsRegion: process.env.AWS_REGION } : {}),
      ...(gh.repository ? { repository: `${gh.repository.owner}/${gh.repository.repo}` } : {}),
    });
    const github =
      opts.token && gh.repository ? new GitHubClient({ token: opts.token, context: gh, logger }) : undefined;
    if (opts.environment && !github)
      throw new C2CError(
        "'environment' is set, but there is no token or repository to record the GitHub Deployment with",
      );
    const audit = opts.annotate ? await auditFromGitHub(gh, github, opts.environment, logger) : undefined;
    // Cancelling the run (SIGINT, then SIGTERM) ends the deploy where it stands, not half-way.
    const termination = onTermination((m) => logger.warning(m));
    const detail = lockDetail({
      ...(gh.sha ? { commit: gh.sha } : {}),
      ...(gh.actor ? { actor: gh.actor } : {}),
    });
    const r = await runDeploy(opts, {
      logger,
      // The run (its attempt) holds the deploy lock: a re-run is another holder, which waits.
      lock: { holder: gh.runUrl ?? processHolder(), ...(detail ? { detail } : {}) },
      signal: termination.signal,
      ...(audit ? { audit } : {}),
      ...(github && opts.environment
        ? {
            recorder: githubRecorder(github, gh, {
              environment: opts.environment,
              ...(opts.environmentUrl ? { environmentUrl: opts.environmentUrl } : {}),
            }),
          }
        : {}),
      ...(gh.sha ? { revision: gh.sha } : {}),
      ...(gh.repository ? { source: `${gh.serverUrl}/${gh.repository.owner}/${gh.repository.repo}` } : {}),
    });
    termination.dispose();
    setOutputs(deployOutputs(r));
    await writeSummary(r.summary);
    if (r.failure) throw new C2CError(r.failure);
  },
  { title: 'Deploy' },
);
