/** What the runner tells every action through its environment. */
export interface GitHubEnv {
  workspace: string;
  sha?: string;
  ref?: string;
  repository?: string;
  serverUrl: string;
  sourceUrl?: string;
  runUrl?: string;
  actor?: string;
}

export function githubEnv(env: NodeJS.ProcessEnv = process.env): GitHubEnv {
  const serverUrl = env.GITHUB_SERVER_URL || 'https://github.com';
  const repository = env.GITHUB_REPOSITORY || undefined;
  return {
    workspace: env.GITHUB_WORKSPACE || process.cwd(),
    ...(env.GITHUB_SHA ? { sha: env.GITHUB_SHA } : {}),
    ...(env.GITHUB_REF ? { ref: env.GITHUB_REF } : {}),
    ...(repository ? { repository, sourceUrl: `${serverUrl}/${repository}` } : {}),
    serverUrl,
    ...(repository && env.GITHUB_RUN_ID ? { runUrl: `${serverUrl}/${repository}/actions/runs/${env.GITHUB_RUN_ID}` } : {}),
    ...(env.GITHUB_ACTOR ? { actor: env.GITHUB_ACTOR } : {}),
  };
}
