import { C2CError } from '../../core/index.js';
import {
  FEATURE_ENV_INPUTS,
  parseFeatureEnvInputs,
  runFeatureEnv,
  featureEnvOutputs,
} from '../../featureenv/index.js';
import { GitHubClient, githubContextFromEnv } from '../../github/index.js';
import { actionLogger, readInputs, runAction, setOutputs, writeSummary } from '../runtime.js';

await runAction(
  async () => {
    const logger = actionLogger();
    const gh = githubContextFromEnv();
    if (!gh.repository) throw new C2CError('The repository is unknown (GITHUB_REPOSITORY is not set)');
    const sha = gh.pullRequest?.headSha ?? gh.sha;
    const opts = parseFeatureEnvInputs(
      readInputs(FEATURE_ENV_INPUTS),
      process.env.GITHUB_WORKSPACE || process.cwd(),
      {
        ...(sha ? { sha } : {}),
        ...(gh.pullRequest ? { pullRequest: gh.pullRequest.number } : {}),
        ...(process.env.AWS_REGION ? { awsRegion: process.env.AWS_REGION } : {}),
      },
    );
    const github = opts.token ? new GitHubClient({ token: opts.token, context: gh, logger }) : undefined;
    const repository = `${gh.repository.owner}/${gh.repository.repo}`;
    const r = await runFeatureEnv(opts, {
      logger,
      gh,
      ...(github ? { github } : {}),
      repository,
      source: `${gh.serverUrl}/${repository}`,
    });
    setOutputs(featureEnvOutputs(r));
    await writeSummary(r.summary);
    if (r.failure) throw new C2CError(r.failure);
  },
  { title: 'Feature environment' },
);
