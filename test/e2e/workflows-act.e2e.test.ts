import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { repoKey, setShort } from '../../src/featureenv/state.js';
import { startEcrFake, type EcrFake } from '../fakes/ecr.js';
import { startGitHubFake, type FakePermission, type GitHubFake } from '../fakes/github.js';
import { ensureAct, haveAct, runAct, type ActRun } from '../helpers/act.js';
import { makeRootImage } from '../helpers/base-image.js';
import { privateBuildahStore } from '../helpers/buildah-store.js';
import type { Cluster } from '../helpers/cluster.js';
import { commentEvent, eventPayload, type PrEvent } from '../helpers/feature-env.js';
import { CLUSTER_SETUP_TIMEOUT_MS, haveCluster, sharedCluster } from '../helpers/shared-cluster.js';
import { haveTools } from '../helpers/tools.js';
import { ROOT, runAction } from './runner.js';

/**
 * The example workflows of workflows-examples/, run whole on a real workflow runner: nektos/act in
 * host mode (the steps run on this machine, no Docker), with the suite's actions mapped to this
 * working tree (--local-repository your-org/commit-to-cloud@v1), against real parts: the CNCF
 * registry behind an ECR endpoint, buildah, the genuine Kubernetes control plane, the GitHub fake.
 * A change to an example that breaks it breaks this test.
 *
 * What differs from GitHub here, and only that:
 * - The workflow text is copied as it is, with two rewrites (forThisMachine below): `cluster-name:`
 *   becomes `kubeconfig: ${{ secrets.KUBECONFIG }}`, because EKS is not here (the action would get
 *   the endpoint from DescribeCluster and a token presigned for STS; our loopback API server takes a
 *   static token), and deploy-eks.yml's STAGING_URL points at a loopback server standing in for the
 *   staging load balancer (kwok simulates pods: nothing serves HTTP in the cluster).
 * - ECR: the registry host stays 123456789012.dkr.ecr.eu-west-1.amazonaws.com. The real AWS SDK in
 *   the actions reaches the project's ECR endpoint fake (test/fakes/ecr.ts: SigV4 verified, its
 *   authorization token opens the real registry behind it) through AWS_ENDPOINT_URL_ECR. moto is not
 *   used for ECR: its tokens open no registry. buildah pulls the base image `FROM` that host: a
 *   registries.conf maps the host to the loopback registry, as DNS would.
 * - aws-actions/configure-aws-credentials is replaced by a stand-in of the same name
 *   (test/fixtures/act/configure-aws-credentials) that sets the same environment; actions/checkout is
 *   skipped by act, which copies the repository (with .git) into the job's workspace instead.
 * - Protected environments: act does not wait for reviewers. The approval the production job
 *   records comes from the GitHub fake's run approvals (GITHUB_RUN_ID).
 */

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const ECR_HOST = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;
const OWNER = 'acme';
const REPO = 'shop-act'; // a repository key of its own: the reaper here touches no other test's environments
/** The example's environment namespace of a pull request (default prefix and label: one set). */
const envNs = (n: number) =>
  `fe-${setShort({ repository: `${OWNER}/${REPO}`, prefix: 'fe-', label: 'feature-env' })}-pr-${n}`;
const RUN_ID = 9901;
const SUITE = 'your-org/commit-to-cloud@v1';
const STAGING = 'shop-staging';
const PRODUCTION = 'shop';
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', ...args], {
    cwd,
    encoding: 'utf8',
  }).trim();

/** The workflow text, with only what must differ on this machine rewritten (see the top of the file). */
function forThisMachine(name: string, text: string, stagingUrl: string): string {
  let out = text;
  const replace = (re: RegExp, by: string, what: string) => {
    if (!re.test(out)) throw new Error(`${name}: nothing to rewrite for ${what}: did the example change?`);
    out = out.replace(re, by);
  };
  if (/cluster-name:/.test(text))
    replace(/^(\s*)cluster-name: .*$/gm, '$1kubeconfig: $${{ secrets.KUBECONFIG }}', 'cluster-name');
  if (name === 'deploy-eks.yml')
    replace(/^(\s*)STAGING_URL: .*$/m, `$1STAGING_URL: ${stagingUrl}`, 'STAGING_URL');
  return out;
}

type Level = 'read' | 'write' | 'none';
const RANK: Record<Level, number> = { none: 0, read: 1, write: 2 };

/**
 * What GITHUB_TOKEN may do in a run of this workflow: the union of its `permissions:` blocks (the
 * top level and every job's; act runs all jobs with one token), everything else none, metadata read
 * (as GitHub grants it). The GitHub fake answers 403 beyond it, so a permission an example forgot
 * fails its run here as it would on GitHub.
 */
function tokenPermissions(text: string): Record<FakePermission, Level> {
  const doc = YAML.parse(text) as {
    permissions?: Record<string, Level> | string;
    jobs?: Record<string, { permissions?: Record<string, Level> | string }>;
  };
  const granted: Record<FakePermission, Level> = {
    contents: 'none',
    deployments: 'none',
    actions: 'none',
    issues: 'none',
    'pull-requests': 'none',
    metadata: 'read',
  };
  const blocks = [doc.permissions, ...Object.values(doc.jobs ?? {}).map((j) => j.permissions)];
  if (blocks.every((b) => b === undefined))
    throw new Error('the workflow says no permissions: GitHub would grant the defaults');
  for (const b of blocks) {
    if (typeof b === 'string') throw new Error(`permissions: ${b}: the examples name each permission`);
    for (const [k, v] of Object.entries(b ?? {}))
      if (k in granted && RANK[v] > RANK[granted[k as FakePermission]]) granted[k as FakePermission] = v;
  }
  return granted;
}

function manifest(svc: string, ingress = false): string {
  const docs = [
    `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${svc}
spec:
  replicas: 1
  selector:
    matchLabels: { app: ${svc} }
  template:
    metadata:
      labels: { app: ${svc} }
    spec:
      containers:
        - name: ${svc}
          image: ${ECR_HOST}/shop-${svc}:main
          ports: [{ containerPort: 8080 }]
`,
    `apiVersion: v1
kind: Service
metadata:
  name: ${svc}
spec:
  selector: { app: ${svc} }
  ports: [{ port: 80, targetPort: 8080 }]
`,
  ];
  if (ingress)
    docs.push(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${svc}
spec:
  rules:
    - host: ${svc}.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend: { service: { name: ${svc}, port: { number: 80 } } }
`);
  return docs.join('---\n');
}

describe.skipIf(!(haveTools('docker-registry', 'buildah', 'busybox', 'git') && haveCluster() && haveAct()))(
  'workflows-examples, run whole on nektos/act (host mode) against the real registry, buildah and control plane',
  () => {
    let act: string;
    let cluster: Cluster;
    let ecr: EcrFake;
    let gh: GitHubFake;
    let work: string;
    let repo: string;
    let store: Awaited<ReturnType<typeof privateBuildahStore>>;
    let smoke: http.Server;
    let smokeUrl: string;
    let smokeHealthy = true;
    const smokeHits: string[] = [];
    let mainSha: string;
    let processEnv: Record<string, string>;
    let regConf: string;
    let actionsDir: string;
    const timings: Array<[string, number]> = [];
    // The GitHub fake reads this on every request; each run sets it from its workflow's permissions.
    const granted: Partial<Record<FakePermission, Level>> = {};

    const run = async (
      workflow: string,
      event: string,
      payload: unknown,
      extra: { job?: string } = {},
    ): Promise<ActRun> => {
      Object.assign(
        granted,
        tokenPermissions(await readFile(path.join(repo, '.github/workflows', workflow), 'utf8')),
      );
      const r = await runAct({
        act,
        repo,
        workflow: `.github/workflows/${workflow}`,
        event,
        payload,
        ...(extra.job ? { job: extra.job } : {}),
        localRepositories: {
          [SUITE]: actionsDir,
          'aws-actions/configure-aws-credentials@v4': path.join(
            ROOT,
            'test/fixtures/act/configure-aws-credentials',
          ),
          'actions/checkout@v4': path.join(ROOT, 'test/fixtures/act/checkout'),
        },
        env: {
          ...gh.env, // GITHUB_API_URL (act's github.api_url), GITHUB_SERVER_URL, GITHUB_REPOSITORY
          GITHUB_RUN_ID: String(RUN_ID),
        },
        secrets: { GITHUB_TOKEN: gh.token, KUBECONFIG: cluster.kubeconfig },
        processEnv,
        cacheDir: path.join(work, 'act-cache'),
      });
      timings.push([`${workflow} ${event}${extra.job ? ` -j ${extra.job}` : ''}`, Math.round(r.durationMs)]);
      return r;
    };
    // For a failure message: what the jobs logged (act's messages and the steps' output), the end of it.
    const explain = (r: ActRun) =>
      Object.entries(r.logs)
        .map(([job, log]) => `--- job ${job} ---\n${log.split('\n').slice(-80).join('\n')}`)
        .join('\n') || r.raw.slice(-5000);

    beforeAll(async () => {
      act = ensureAct();
      [cluster, ecr, gh, store] = await Promise.all([
        sharedCluster(),
        startEcrFake({ accountId: ACCOUNT, region: REGION }),
        startGitHubFake({ owner: OWNER, repo: REPO, permissions: granted }),
        privateBuildahStore('act'),
      ]);
      gh.addRun(RUN_ID, [{ user: 'release-manager', environments: ['production'], state: 'approved' }]);
      gh.collaborators.set('maintainer', 'maintain');
      gh.collaborators.set('triager', 'triage');
      smoke = http.createServer((req, res) => {
        smokeHits.push(req.url ?? '');
        res.writeHead(smokeHealthy ? 200 : 503, { 'content-type': 'text/plain' });
        res.end(smokeHealthy ? 'ok\n' : 'unavailable\n');
      });
      await new Promise<void>((r) => smoke.listen(0, '127.0.0.1', r));
      smokeUrl = `http://127.0.0.1:${(smoke.address() as AddressInfo).port}`;
      work = await mkdtemp(path.join(os.tmpdir(), 'c2c-act-'));

      // The suite's actions as a repository of their own (action.yml and dist of each): act tars the
      // whole mapped directory for every step that uses it, and this checkout's node_modules is large.
      actionsDir = path.join(work, 'commit-to-cloud');
      for (const a of ['action-hash-base', 'action-deploy-k8s', 'action-feature-env']) {
        await mkdir(path.join(actionsDir, a), { recursive: true });
        await cp(path.join(ROOT, a, 'action.yml'), path.join(actionsDir, a, 'action.yml'));
        await cp(path.join(ROOT, a, 'dist'), path.join(actionsDir, a, 'dist'), { recursive: true });
      }

      // buildah reaches the ECR host at the loopback registry behind the ECR fake. (The location is
      // single-quoted TOML: the build keeps this file and adds its own insecure entry for the push.)
      regConf = path.join(work, 'registries.conf');
      await writeFile(
        regConf,
        `[[registry]]\nprefix = "${ECR_HOST}"\nlocation = '${ecr.endpoint.host}'\ninsecure = true\n`,
      );
      processEnv = {
        // Node 24 first (act runs node actions with the first `node` on PATH), then our kubectl.
        PATH: `${path.join(ROOT, 'node_modules/.bin')}:${process.env.PATH}`,
        HOME: process.env.HOME ?? '/root',
        ...store.env,
        CONTAINERS_REGISTRIES_CONF: regConf,
        AWS_ENDPOINT_URL_ECR: ecr.url,
        AWS_EC2_METADATA_DISABLED: 'true',
        // Read only by the configure-aws-credentials stand-in, which exports them as AWS_*.
        C2C_ACT_AWS_ACCESS_KEY_ID: ecr.accessKeyId,
        C2C_ACT_AWS_SECRET_ACCESS_KEY: ecr.secretAccessKey,
      };

      // The repository the workflows run in: three services on a base, their manifests, the examples.
      const rootImage = await makeRootImage(ecr.endpoint.host, 'c2c/root', {
        username: ecr.registry.username!,
        password: ecr.registry.password!,
      });
      repo = path.join(work, 'shop');
      await mkdir(path.join(repo, '.github/workflows'), { recursive: true });
      await mkdir(path.join(repo, 'k8s'));
      await writeFile(path.join(repo, 'requirements.txt'), 'flask==3.0.3\n');
      await writeFile(
        path.join(repo, 'Dockerfile.base'),
        `FROM ${rootImage}\nCOPY requirements.txt /opt/app/requirements.txt\n`,
      );
      for (const svc of ['api', 'web', 'worker']) {
        await mkdir(path.join(repo, 'services', svc), { recursive: true });
        await writeFile(
          path.join(repo, 'services', svc, 'Dockerfile'),
          `ARG BASE_IMAGE\nFROM \${BASE_IMAGE}\nCOPY version.txt /srv/${svc}/version.txt\n`,
        );
        await writeFile(path.join(repo, 'services', svc, 'version.txt'), `${svc} 1\n`);
        await writeFile(path.join(repo, 'k8s', `${svc}.yaml`), manifest(svc, svc === 'web'));
      }
      for (const f of await readdir(path.join(ROOT, 'workflows-examples'))) {
        if (!f.endsWith('.yml')) continue;
        const text = await readFile(path.join(ROOT, 'workflows-examples', f), 'utf8');
        await writeFile(path.join(repo, '.github/workflows', f), forThisMachine(f, text, smokeUrl));
      }
      git(repo, 'init', '-q', '-b', 'main');
      git(repo, 'add', '-A');
      git(repo, 'commit', '-qm', 'shop');
      mainSha = git(repo, 'rev-parse', 'HEAD');
      gh.refs.set('main', mainSha);

      for (const ns of [STAGING, PRODUCTION]) {
        const r = await cluster.request('POST', '/api/v1/namespaces', {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: ns },
        });
        if (r.status !== 201 && r.status !== 409) throw new Error(`namespace ${ns}: ${r.status} ${r.text}`);
      }
    }, CLUSTER_SETUP_TIMEOUT_MS);

    afterAll(async () => {
      if (cluster) {
        for (const ns of [STAGING, PRODUCTION]) await cluster.request('DELETE', `/api/v1/namespaces/${ns}`);
        const sel = encodeURIComponent(`commit-to-cloud.dev/fe-repo=${repoKey(`${OWNER}/${REPO}`)}`);
        const list = await cluster.request('GET', `/api/v1/namespaces?labelSelector=${sel}`);
        for (const n of list.body?.items ?? [])
          await cluster.request('DELETE', `/api/v1/namespaces/${n.metadata.name}`);
      }
      await Promise.all([ecr?.stop(), gh?.stop(), smoke ? new Promise((r) => smoke.close(r)) : undefined]);
      await store?.remove();
      if (work) await rm(work, { recursive: true, force: true });
      if (timings.length)
        console.log(
          `act runs:\n${timings.map(([what, ms]) => `  ${(ms / 1000).toFixed(1)}s  ${what}`).join('\n')}`,
        );
    });

    const pushEvent = (sha: string, before: string) => ({
      ref: 'refs/heads/main',
      before,
      after: sha,
      created: false,
      deleted: false,
      forced: false,
      repository: {
        name: REPO,
        full_name: `${OWNER}/${REPO}`,
        owner: { login: OWNER, name: OWNER },
        default_branch: 'main',
        private: true,
      },
      pusher: { name: 'dev', email: 'dev@example.com' },
      sender: { login: 'dev', type: 'User' },
      head_commit: { id: sha, message: 'shop', timestamp: new Date().toISOString() },
      commits: [{ id: sha, message: 'shop', distinct: true }],
    });

    const deploymentImage = async (ns: string, name: string) =>
      (await cluster.request('GET', `/apis/apps/v1/namespaces/${ns}/deployments/${name}`)).body?.spec
        ?.template?.spec?.containers?.[0]?.image as string | undefined;

    it('base-image.yml on push: builds the base on ECR, then skips it; the runner emulation of test/e2e sees the same outputs and summary', async () => {
      const first = await run('base-image.yml', 'push', pushEvent(mainSha, '0'.repeat(40)));
      expect(first.code, explain(first)).toBe(0);
      expect(first.jobs).toEqual({ base: 'success' });
      const out1 = first.outputs.base!.base!;
      expect(out1['needs-build']).toBe('true');
      expect(out1.built).toBe('true');
      expect(out1['image-ref']).toMatch(new RegExp(`^${ECR_HOST}/shop-base:deps-[0-9a-f]{16}$`));
      expect(ecr.repositories.has('shop-base')).toBe(true);
      expect(ecr.calls.map((c) => c.op)).toContain('GetAuthorizationToken');
      // The credentials came from the configure-aws-credentials step, and stayed out of the log.
      expect(first.logs.base).toContain(
        'AWS credentials for arn:aws:iam::123456789012:role/github-base-image',
      );
      // What the log shows (act's masked messages; its JSON fields `arg` and `raw` keep each command's
      // value unmasked, which GitHub never shows anywhere).
      const shown = Object.values(first.logs).join('\n');
      expect(shown).not.toContain(ecr.secretAccessKey);
      expect(shown).not.toContain(ecr.registry.password!);
      expect(shown).toContain('AWS_SECRET_ACCESS_KEY=***');
      expect(first.logs.base).toContain('the first base with a hash manifest');

      // A dependency changes: the base is rebuilt, and the run says which file made it so.
      const before = mainSha;
      await writeFile(path.join(repo, 'requirements.txt'), 'flask==3.0.3\nredis==5.0.7\n');
      git(repo, 'commit', '-qam', 'add redis');
      mainSha = git(repo, 'rev-parse', 'HEAD');
      gh.refs.set('main', mainSha);
      const rebuilt = await run('base-image.yml', 'push', pushEvent(mainSha, before));
      expect(rebuilt.code, explain(rebuilt)).toBe(0);
      expect(rebuilt.outputs.base!.base!.built).toBe('true');
      expect(rebuilt.outputs.base!.base!.changed).toContain('requirements.txt');
      expect(rebuilt.logs.base).toMatch(/Changed since the previous base:\n.*requirements\.txt/);

      const second = await run('base-image.yml', 'push', pushEvent(mainSha, mainSha));
      expect(second.code, explain(second)).toBe(0);
      const out2 = second.outputs.base!.base!;
      expect(out2['needs-build']).toBe('false');
      expect(out2.built).toBe('false');
      expect(out2.digest).toBe(rebuilt.outputs.base!.base!.digest);
      expect(out2.digest).not.toBe(out1.digest);
      expect(second.logs.base).toContain('exists already: nothing to build');

      // The same inputs through test/e2e's runner emulation, on a copy of the same workspace.
      const ws = path.join(work, 'emulated');
      await cp(repo, ws, { recursive: true });
      const emulated = await runAction('action-hash-base', {
        inputs: {
          files: 'requirements*.txt\nDockerfile.base',
          image: `${ECR_HOST}/shop-base`,
          build: 'true',
          'extra-tags': 'latest',
        },
        workspace: ws,
        env: {
          ...processEnv,
          AWS_ACCESS_KEY_ID: ecr.accessKeyId,
          AWS_SECRET_ACCESS_KEY: ecr.secretAccessKey,
          AWS_REGION: REGION,
          ...gh.env,
        },
      });
      expect(emulated.code, emulated.stdout + emulated.stderr).toBe(0);
      const comparable = (o: Record<string, string>) => {
        const { 'manifest-path': p, ...rest } = o;
        expect(p).toMatch(/hash-manifest-[0-9a-f]{16}\.json$/);
        return rest;
      };
      expect(comparable(out2)).toEqual(comparable(emulated.outputs));
      const timeless = (s: string) => s.replace(/\| Time: [^|]+\| [^|]+\|/g, '| Time | … |');
      expect(timeless(second.summaries.base!.base!)).toBe(timeless(emulated.summary));
    }, 300_000);

    it('base-image.yml on a pull request from a fork: the job does not run (no OIDC token for forks)', async () => {
      const pr = eventPayload(gh, {
        action: 'synchronize',
        number: 3,
        labels: [],
        sha: mainSha,
        headRepo: 'someone/shop-act',
      });
      const r = await run('base-image.yml', 'pull_request', pr.payload);
      expect(r.code, explain(r)).toBe(0);
      expect(r.jobs).toEqual({});
    }, 120_000);

    it("base-image.yml on a pull request that changes a dependency: builds that base into the pull requests' repository with their role, never main's (main builds its own), and leaves `latest` alone", async () => {
      const authorization = `Basic ${Buffer.from(`${ecr.registry.username}:${ecr.registry.password}`).toString('base64')}`;
      const registryTags = async (repository: string) => {
        const r = await fetch(`${ecr.registry.url}/v2/${repository}/tags/list`, {
          headers: { authorization },
        });
        expect(r.status).toBe(200);
        return ((await r.json()) as { tags: string[] | null }).tags ?? [];
      };
      const latest = async () => {
        const r = await fetch(`${ecr.registry.url}/v2/shop-base/manifests/latest`, {
          method: 'HEAD',
          headers: {
            authorization,
            accept:
              'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
          },
        });
        expect(r.status).toBe(200);
        return r.headers.get('docker-content-digest');
      };
      const before = await latest();
      git(repo, 'checkout', '-q', '-b', 'deps-4', mainSha);
      try {
        await writeFile(path.join(repo, 'requirements.txt'), 'flask==3.0.3\nredis==5.0.7\ncelery==5.4.0\n');
        git(repo, 'commit', '-qam', 'add celery');
        const head = git(repo, 'rev-parse', 'HEAD');
        const pr = eventPayload(gh, { action: 'synchronize', number: 4, labels: [], sha: head });
        const r = await run('base-image.yml', 'pull_request', pr.payload);
        expect(r.code, explain(r)).toBe(0);
        const out = r.outputs.base!.base!;
        expect(out.built).toBe('true');
        expect(r.logs.base).toContain(
          'AWS credentials for arn:aws:iam::123456789012:role/github-base-image-pr',
        );
        expect(out['image-ref']).toBe(`${ECR_HOST}/shop-pr-base:${out.tag}`);
        expect(ecr.repositories.has('shop-pr-base')).toBe(true);
        const tagsOf = async (repository: string) =>
          (await registryTags(repository)).filter((t) => t === out.tag);
        expect(await tagsOf('shop-base')).toEqual([]);
        expect(await latest()).toBe(before);

        // The same dependency files on main: main finds no base of that hash where it reads, and
        // builds its own.
        const merged = git(repo, 'rev-parse', 'HEAD');
        const onMain = await run('base-image.yml', 'push', pushEvent(merged, mainSha));
        expect(onMain.code, explain(onMain)).toBe(0);
        const mainOut = onMain.outputs.base!.base!;
        expect(mainOut.tag).toBe(out.tag);
        expect(mainOut['image-ref']).toBe(`${ECR_HOST}/shop-base:${out.tag}`);
        expect(mainOut['needs-build']).toBe('true');
        expect(mainOut.built).toBe('true');
      } finally {
        git(repo, 'checkout', '-q', 'main');
      }
    }, 300_000);

    /** The images staging runs (service → repo@digest), as deploy-eks.yml's staging job pushed them. */
    let stagedImages: Record<string, string> = {};
    const SERVICES = ['api', 'web', 'worker'];

    it('deploy-eks.yml on push to main: base, staging (every service built on the base, one deploy), smoke test, production of the same digests with the approval recorded', async () => {
      const r = await run('deploy-eks.yml', 'push', pushEvent(mainSha, mainSha));
      expect(r.code, explain(r)).toBe(0);
      expect(r.jobs).toEqual({
        base: 'success',
        staging: 'success',
        smoke: 'success',
        production: 'success',
      });
      // The base exists (the previous test built it): nothing rebuilt.
      expect(r.outputs.base!.base!['needs-build']).toBe('false');
      const staged = r.outputs.staging!.deploy!;
      expect(staged.result).toBe('success');
      // One step built the three services (services: services/*), each on the base, each pushed to
      // its own repository under its content tag.
      expect(staged.built!.split('\n').sort()).toEqual(SERVICES);
      stagedImages = JSON.parse(staged.images!) as Record<string, string>;
      expect(Object.keys(stagedImages).sort()).toEqual(SERVICES);
      for (const svc of SERVICES) {
        expect(stagedImages[svc]).toMatch(new RegExp(`^${ECR_HOST}/shop-${svc}@sha256:[0-9a-f]{64}$`));
        expect(ecr.repositories.has(`shop-${svc}`)).toBe(true);
      }
      expect(staged['image-refs']!.split('\n').sort()).toEqual(SERVICES.map((s) => stagedImages[s]));
      expect(r.logs.staging).toContain(`FROM ${r.outputs.base!.base!['image-ref']}`);
      const prod = r.outputs.production!.deploy!;
      expect(prod.result).toBe('success');
      expect(prod.built ?? '').toBe(''); // nothing built for production
      expect(r.logs.production).not.toMatch(/Build and push/);
      // The same digests run in both environments.
      for (const svc of SERVICES) {
        expect(await deploymentImage(STAGING, svc), svc).toBe(stagedImages[svc]);
        expect(await deploymentImage(PRODUCTION, svc), svc).toBe(stagedImages[svc]);
      }
      // The smoke test ran against staging, before production.
      expect(smokeHits).toEqual(expect.arrayContaining(['/healthz', '/api/items']));
      // Audit: who approved production, on the object; a GitHub Deployment per environment.
      const live = (await cluster.request('GET', `/apis/apps/v1/namespaces/${PRODUCTION}/deployments/api`))
        .body;
      expect(live.metadata.annotations['commit-to-cloud.dev/approved-by']).toBe('release-manager');
      expect(live.metadata.annotations['commit-to-cloud.dev/commit']).toBe(mainSha);
      for (const env of ['staging', 'production']) {
        const d = gh.deployments.find((x) => x.environment === env);
        expect(d, env).toBeDefined();
        expect(d!.statuses.map((s) => s.state).at(-1)).toBe('success');
      }
      expect(r.summaries.production!.deploy).toContain(`Deployment/${PRODUCTION}/api`);
    }, 300_000);

    it('deploy-eks.yml: a failing smoke test keeps production from running', async () => {
      smokeHealthy = false;
      try {
        const r = await run('deploy-eks.yml', 'push', pushEvent(mainSha, mainSha));
        expect(r.code).not.toBe(0);
        expect(r.jobs).toMatchObject({ base: 'success', staging: 'success', smoke: 'failure' });
        expect(r.jobs.production).toBeUndefined();
      } finally {
        smokeHealthy = true;
      }
    }, 300_000);

    it('deploy-eks.yml: a release whose rollout fails is rolled back by itself in staging; smoke test and production do not run', async () => {
      const good = mainSha;
      const webBefore = await deploymentImage(STAGING, 'web');
      expect(webBefore).toBe(stagedImages.web);
      // A release that adds a sidecar whose image the node refuses (kwok: InvalidImageName, which
      // never heals). Not a service's image: those are replaced by the built ones.
      const web = path.join(repo, 'k8s/web.yaml');
      await writeFile(
        web,
        (await readFile(web, 'utf8')).replace(
          '          ports: [{ containerPort: 8080 }]\n',
          `          ports: [{ containerPort: 8080 }]\n        - name: proxy\n          image: ${ECR_HOST}/tools:invalid-name\n`,
        ),
      );
      expect(await readFile(web, 'utf8')).toContain('tools:invalid-name');
      git(repo, 'commit', '-qam', 'web: a broken sidecar');
      const bad = git(repo, 'rev-parse', 'HEAD');
      try {
        const r = await run('deploy-eks.yml', 'push', pushEvent(bad, good));
        expect(r.code).not.toBe(0);
        expect(r.jobs, explain(r)).toEqual({ base: 'success', staging: 'failure' });
        const out = r.outputs.staging!.deploy!;
        expect(out['rolled-back']).toBe('true');
        expect(out.result).toBe('rolled-back');
        expect(r.logs.staging).toMatch(/InvalidImageName/);
        // The set was rolled back: web runs its one container of before again.
        const live = (await cluster.request('GET', `/apis/apps/v1/namespaces/${STAGING}/deployments/web`))
          .body;
        expect(live.spec.template.spec.containers.map((c: { image: string }) => c.image)).toEqual([
          webBefore,
        ]);
        const d = gh.deployments.filter((x) => x.environment === 'staging').at(-1)!;
        expect(d.statuses.map((s) => s.state).at(-1)).toBe('failure');
      } finally {
        git(repo, 'reset', '-q', '--hard', good);
      }
    }, 300_000);

    describe('feature-env.yml and feature-env-reaper.yml', () => {
      const prEvent = (e: PrEvent) => {
        const ev = eventPayload(gh, e);
        const pr = ev.payload.pull_request as { base: { sha: string; ref: string } };
        pr.base.sha = mainSha;
        pr.base.ref = 'main';
        return ev.payload;
      };
      /** Whether main's repository holds this image (repo@digest) under any name. */
      const inMainRepository = async (repository: string, image: string) => {
        const r = await fetch(
          `${ecr.registry.url}/v2/${repository}/manifests/${image.slice(image.indexOf('@') + 1)}`,
          {
            method: 'HEAD',
            headers: {
              authorization: `Basic ${Buffer.from(`${ecr.registry.username}:${ecr.registry.password}`).toString('base64')}`,
              accept:
                'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
            },
          },
        );
        return r.status === 200;
      };
      const commitOn = (branch: string, file: string, text: string) => {
        git(repo, 'checkout', '-q', branch);
        return writeFile(path.join(repo, file), text).then(() => {
          git(repo, 'commit', '-qam', `change ${file}`);
          return git(repo, 'rev-parse', 'HEAD');
        });
      };

      it("labeled → up (only the changed service built, the others main's images), synchronize → updated, unlabeled → down, closed without the label → nothing runs", async () => {
        git(repo, 'checkout', '-q', '-b', 'feature-7', mainSha);
        const head1 = await commitOn('feature-7', 'services/api/version.txt', 'api 2\n');
        gh.addPullRequest({ number: 7, headSha: head1, headRef: 'feature-7' });
        gh.label(7, 'feature-env', 'maintainer');

        const up = await run(
          'feature-env.yml',
          'pull_request',
          prEvent({
            action: 'labeled',
            number: 7,
            label: 'feature-env',
            labels: ['feature-env'],
            sha: head1,
          }),
        );
        expect(up.code, explain(up)).toBe(0);
        const steps = up.outputs['feature-env']!;
        expect(steps.env!.status).toBe('up');
        expect(steps.env!.namespace).toBe(envNs(7));
        expect(steps.env!.url).toBe('http://web-pr-7.preview.example.com');
        // One step for the three services: api changed and is built; web and worker have the tags
        // main's deploy pushed (same files, same base) and run main's very images.
        expect(steps.env!.built).toBe('api');
        expect(steps.env!.reused!.split('\n').sort()).toEqual(['web', 'worker']);
        const images1 = JSON.parse(steps.env!.images!) as Record<string, string>;
        const apiImage = await deploymentImage(envNs(7), 'api');
        // Built from the pull request: pushed to the pull requests' repository, never to main's.
        expect(apiImage).toMatch(new RegExp(`^${ECR_HOST}/shop-pr-api@sha256:`));
        expect(apiImage).toBe(images1.api);
        expect(await inMainRepository('shop-api', apiImage!)).toBe(false);
        // The dependencies did not change: main's base, read only; no base of its own built.
        expect(steps['main-base']!['needs-build']).toBe('false');
        expect(steps['pr-base']).toBeUndefined();
        expect(apiImage).not.toBe(stagedImages.api);
        for (const svc of ['web', 'worker']) {
          expect(images1[svc], svc).toBe(stagedImages[svc]);
          expect(await deploymentImage(envNs(7), svc), svc).toBe(stagedImages[svc]);
        }
        expect(up.logs['feature-env']).toContain('Built for this pull request: api');
        expect(up.logs['feature-env']).toMatch(
          /Ready in [\d.]+s at http:\/\/web-pr-7\.preview\.example\.com/,
        );
        expect(gh.comments.filter((c) => c.issue === 7)).toHaveLength(1);

        // A push that changes web: web is built, api is found (same files, same base) and not rebuilt.
        const head2 = await commitOn('feature-7', 'services/web/version.txt', 'web 2\n');
        gh.issues.get(7)!.headSha = head2;
        const upd = await run(
          'feature-env.yml',
          'pull_request',
          prEvent({ action: 'synchronize', number: 7, labels: ['feature-env'], sha: head2 }),
        );
        expect(upd.code, explain(upd)).toBe(0);
        const s2 = upd.outputs['feature-env']!;
        expect(s2.env!.built).toBe('web');
        expect(s2.env!.reused!.split('\n').sort()).toEqual(['api', 'worker']);
        expect(s2.env!.status).toBe('updated');
        expect(await deploymentImage(envNs(7), 'api')).toBe(apiImage);
        const webImage = await deploymentImage(envNs(7), 'web');
        expect(webImage).toMatch(new RegExp(`^${ECR_HOST}/shop-pr-web@sha256:`));
        expect(await inMainRepository('shop-web', webImage!)).toBe(false);
        expect(webImage).not.toBe(stagedImages.web);

        gh.label(7, 'feature-env', 'maintainer', 'unlabeled');
        const down = await run(
          'feature-env.yml',
          'pull_request',
          prEvent({ action: 'unlabeled', number: 7, label: 'feature-env', labels: [], sha: head2 }),
        );
        expect(down.code, explain(down)).toBe(0);
        expect(down.outputs['feature-env']!.env!.status).toBe('down');
        expect(down.outputs['feature-env']!['main-base']).toBeUndefined(); // nothing built for a teardown
        expect(down.outputs['feature-env']!.env!.built ?? '').toBe('');
        const ns = await cluster.request('GET', `/api/v1/namespaces/${envNs(7)}`);
        expect(ns.status === 404 || ns.body?.status?.phase === 'Terminating').toBe(true);

        gh.issues.get(7)!.state = 'closed';
        const closed = await run(
          'feature-env.yml',
          'pull_request',
          prEvent({ action: 'closed', number: 7, labels: [], sha: head2 }),
        );
        expect(closed.code, explain(closed)).toBe(0);
        expect(closed.jobs).toEqual({});
      }, 600_000);

      it('the gate: a label added by a triager is refused by the action; a fork pull request never starts the job', async () => {
        gh.addPullRequest({ number: 8, headSha: mainSha, headRef: 'feature-8' });
        gh.label(8, 'feature-env', 'triager');
        const refused = await run(
          'feature-env.yml',
          'pull_request',
          prEvent({
            action: 'labeled',
            number: 8,
            label: 'feature-env',
            labels: ['feature-env'],
            sha: mainSha,
          }),
        );
        expect(refused.code).not.toBe(0);
        expect(refused.jobs).toEqual({ 'feature-env': 'failure' });
        expect(refused.logs['feature-env']).toMatch(/triager/);
        expect((await cluster.request('GET', `/api/v1/namespaces/${envNs(8)}`)).status).toBe(404);

        const fork = await run(
          'feature-env.yml',
          'pull_request',
          prEvent({
            action: 'labeled',
            number: 9,
            label: 'feature-env',
            labels: ['feature-env'],
            sha: mainSha,
            headRepo: 'someone/shop-act',
          }),
        );
        expect(fork.code, explain(fork)).toBe(0);
        expect(fork.jobs).toEqual({});
      }, 300_000);

      it('feature-env-commands.yml: /feature-env up by a writer (checked on the default branch, then the head checked out, built and deployed), extend; a reader gets a reply; down', async () => {
        git(repo, 'checkout', '-q', '-b', 'feature-11', mainSha);
        const head = await commitOn('feature-11', 'services/api/version.txt', 'api 11\n');
        gh.addPullRequest({ number: 11, headSha: head, headRef: 'feature-11' });
        // The comment's run starts on the default branch.
        git(repo, 'checkout', '-q', 'main');
        const say = (body: string, author: string) => {
          const c = commentEvent(gh, 11, body, author);
          return run('feature-env-commands.yml', 'issue_comment', eventPayload(gh, c).payload);
        };
        const up = await say('/feature-env up', 'maintainer');
        expect(up.code, explain(up)).toBe(0);
        const st = up.outputs.command!;
        expect(st.cmd!.status).toBe('checked');
        expect(st.cmd!['head-sha']).toBe(head);
        expect(st.up!.status).toBe('up');
        expect(st.up!.built).toBe('api');
        // Its namespace: a warm spare the reaper's pool or the labeled run left, or its own.
        const ns11 = st.up!.namespace!;
        expect(ns11).toMatch(/^fe-[0-9a-f]{6}-(pr-11|spare-[0-9a-f]{6})$/);
        expect(await deploymentImage(ns11, 'api')).toMatch(new RegExp(`^${ECR_HOST}/shop-pr-api@sha256:`));
        expect(gh.issues.get(11)!.labels).toContain('feature-env');
        const asked = gh.comments.filter((c) => c.issue === 11 && c.body === '/feature-env up').at(-1)!;
        expect(asked.reactions.map((r) => r.content)).toContain('eyes');

        const extend = await say('/feature-env extend 1d', 'maintainer');
        expect(extend.code, explain(extend)).toBe(0);
        expect(extend.outputs.command!.cmd!.status).toBe('updated');
        expect(extend.outputs.command!.up).toBeUndefined(); // nothing checked out or built

        gh.collaborators.set('reader', 'read');
        const refused = await say('/feature-env down', 'reader');
        expect(refused.code, explain(refused)).toBe(0);
        expect(refused.outputs.command!.cmd!.status).toBe('skipped');
        expect(gh.comments.filter((c) => c.issue === 11).at(-1)!.body).toMatch(
          /^@reader: `\/feature-env down` needs the permission `write`/,
        );
        expect((await cluster.request('GET', `/api/v1/namespaces/${ns11}`)).status).toBe(200);

        const down = await say('/feature-env down', 'maintainer');
        expect(down.code, explain(down)).toBe(0);
        expect(down.outputs.command!.cmd!.status).toBe('down');
        expect(gh.issues.get(11)!.labels).not.toContain('feature-env');
      }, 600_000);

      it('feature-env-reaper.yml on schedule: removes the environment of a pull request closed while no run saw it, keeps the warm pool full', async () => {
        git(repo, 'checkout', '-q', '-b', 'feature-10', mainSha);
        const head = await commitOn('feature-10', 'services/worker/version.txt', 'worker 2\n');
        gh.addPullRequest({ number: 10, headSha: head, headRef: 'feature-10' });
        gh.label(10, 'feature-env', 'maintainer');
        const up = await run(
          'feature-env.yml',
          'pull_request',
          prEvent({
            action: 'labeled',
            number: 10,
            label: 'feature-env',
            labels: ['feature-env'],
            sha: head,
          }),
        );
        expect(up.code, explain(up)).toBe(0);
        expect(up.outputs['feature-env']!.env!.status).toBe('up');
        const ns10 = up.outputs['feature-env']!.env!.namespace!;

        gh.issues.get(10)!.state = 'closed'; // closed, and the closed event's run never happened
        git(repo, 'checkout', '-q', 'main');
        const r = await run('feature-env-reaper.yml', 'schedule', {
          schedule: '17 3 * * *',
          repository: { full_name: `${OWNER}/${REPO}`, name: REPO, owner: { login: OWNER } },
        });
        expect(r.code, explain(r)).toBe(0);
        expect(r.outputs.reap!.reap!.status).toBe('reaped');
        expect(r.summaries.reap!.reap).toContain('pull request #10 is closed');
        const gone = await cluster.request('GET', `/api/v1/namespaces/${ns10}`);
        expect(gone.status === 404 || gone.body?.status?.phase === 'Terminating').toBe(true);
        // One ready spare of this repository's pool.
        const sel = encodeURIComponent(
          `commit-to-cloud.dev/fe-repo=${repoKey(`${OWNER}/${REPO}`)},commit-to-cloud.dev/fe-state=spare`,
        );
        const spares = await cluster.request('GET', `/api/v1/namespaces?labelSelector=${sel}`);
        expect(
          spares.body.items.filter((n: { status?: { phase?: string } }) => n.status?.phase !== 'Terminating'),
        ).toHaveLength(1);
      }, 600_000);
    });
  },
);
