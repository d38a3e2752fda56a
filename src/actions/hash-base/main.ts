import os from 'node:os';
import {
  HASH_BASE_INPUTS,
  parseHashBaseInputs,
  renderHashBaseSummary,
  runHashBase,
  hashBaseOutputs,
} from '../../baseimage/index.js';
import { actionLogger, readInputs, runAction, setOutputs, writeSummary } from '../runtime.js';
import { githubContextFromEnv } from '../../github/index.js';

await runAction(
  async () => {
    const logger = actionLogger();
    const gh = githubContextFromEnv();
    const opts = parseHashBaseInputs(
      readInputs(HASH_BASE_INPUTS),
      process.env.GITHUB_WORKSPACE || process.cwd(),
    );
    // The cache adapter loads @actions/cache only when check: cache asks for it (it is large, and the hot path is not).
    const cache =
      opts.check === 'cache' ? (await import('../shared/index.js')).actionsCacheStore() : undefined;
    const r = await runHashBase(opts, {
      logger,
      manifestDir: process.env.RUNNER_TEMP || os.tmpdir(),
      ...(cache ? { cache } : {}),
      ...(gh.sha ? { revision: gh.sha } : {}),
      ...(gh.runUrl ? { runUrl: gh.runUrl } : {}),
      ...(gh.repository ? { source: `${gh.serverUrl}/${gh.repository.owner}/${gh.repository.repo}` } : {}),
    });
    setOutputs(hashBaseOutputs(r));
    await writeSummary(renderHashBaseSummary(r));
  },
  { title: 'Hash base' },
);
