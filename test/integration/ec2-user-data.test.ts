import { execFile, execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const SCRIPT = path.join(import.meta.dirname, '../../infra/ec2/user-data.sh');

const haveShellcheck = (() => {
  try {
    execFileSync('shellcheck', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/**
 * Issue 17 item 2 (its user data part): the instance's user data script, run with stand-in
 * `minikube`, `docker`, `kubectl`, `aws` and `curl` on PATH that record what they were asked to do
 * (there is no EC2 instance here); and shellcheck-clean (scripts/ensure-deps.sh installs shellcheck).
 */
describe('infra/ec2/user-data.sh', () => {
  let dir: string;
  let calls: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'c2c-user-data-'));
    calls = path.join(dir, 'calls.log');
    const stand = async (name: string, body = '') =>
      writeFile(
        path.join(dir, name),
        `#!/bin/bash\nprintf '%s\\n' "${name} $*" >> "${calls}"\n${body}\n`,
      ).then(() => chmod(path.join(dir, name), 0o755));
    await stand(
      'curl',
      `case "$*" in *api/token*) echo imds-token ;; *local-ipv4*) echo 10.0.3.17 ;; *) exit 22 ;; esac`,
    );
    await stand('minikube', 'case "$1" in ip) echo 192.168.49.2 ;; esac');
    await stand('docker', 'case "$1" in login) cat > /dev/null ;; esac');
    await stand(
      'kubectl',
      `case "$*" in
  *jsonpath*) echo https://192.168.49.2:32771 ;;
  *--raw*) printf 'apiVersion: v1\\nclusters:\\n- cluster:\\n    certificate-authority-data: Q0E=\\n    server: https://192.168.49.2:32771\\n  name: minikube\\nusers:\\n- name: minikube\\n  user:\\n    client-key-data: S0VZ\\n' ;;
esac`,
    );
    // The stand-in aws copies the parameter's value (file://…) aside, as SSM would keep it.
    await stand(
      'aws',
      `case "$1 $2" in
  "ecr get-login-password") echo ecr-password ;;
  "ssm put-parameter") for a in "$@"; do case "$a" in file://*) cp "\${a#file://}" "${dir}/parameter" ;; esac; done ;;
esac`,
    );
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const userData = (prologue: Record<string, string>) =>
    run('bash', [SCRIPT], {
      env: { PATH: `${dir}:/usr/bin:/bin`, HOME: dir, ...prologue },
    });

  it('starts Minikube with ingress, pulls and loads the images under test, publishes a kubeconfig for the private address', async () => {
    await writeFile(calls, '');
    const r = await userData({
      C2C_REGION: 'eu-west-1',
      C2C_PARAMETER: '/c2c/feature-env/acme-shop/pr-42/kubeconfig',
      C2C_IMAGES:
        '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-pr-api@sha256:aaa\n\n123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-pr-web:pr-42',
      C2C_ECR: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
    });
    const lines = (await readFile(calls, 'utf8')).trim().split('\n');
    const at = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix));
    expect(lines).toContain(
      'minikube start --driver=docker --addons=ingress --addons=dashboard --apiserver-ips=10.0.3.17 --listen-address=0.0.0.0 --embed-certs --ports=80:80,443:443,8443:8443,30090:30090',
    );
    // The log viewer reads Minikube's Docker (the pods' containers), from Minikube's network.
    expect(lines).toContain(
      `docker run -d --name c2c-logs --restart always --network minikube -p 9999:8080 -v ${dir}/.minikube/certs:/certs:ro amir20/dozzle:latest --remote-host tcp://192.168.49.2:2376`,
    );
    expect(at('docker run -d --name c2c-logs')).toBeGreaterThan(at('minikube start'));
    // The dashboard on the port the security group opens for it.
    expect(lines.find((l) => l.startsWith('kubectl -n kubernetes-dashboard patch'))).toContain(
      '"nodePort":30090',
    );
    expect(lines).toContain(
      'docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com',
    );
    // Logged in before Minikube starts; each image pulled, then loaded; the kubeconfig published last.
    expect(at('docker login')).toBeLessThan(at('minikube start'));
    const api = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-pr-api@sha256:aaa';
    const web = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-pr-web:pr-42';
    expect(at(`docker pull ${api}`)).toBeGreaterThan(at('minikube start'));
    expect(at(`minikube image load ${api}`)).toBeGreaterThan(at(`docker pull ${api}`));
    expect(at(`minikube image load ${web}`)).toBeGreaterThan(at(`docker pull ${web}`));
    expect(lines.filter((l) => l.startsWith('docker pull'))).toHaveLength(2);
    const put = lines.find((l) => l.startsWith('aws ssm put-parameter'))!;
    expect(put).toMatch(
      /^aws ssm put-parameter --region eu-west-1 --name \/c2c\/feature-env\/acme-shop\/pr-42\/kubeconfig --type SecureString --overwrite --value file:\/\/\S+$/,
    );
    expect(at('aws ssm put-parameter')).toBe(lines.length - 1);
    // The kubeconfig's server is the instance's private address, on the published port 8443; its
    // credentials went as a file, never on a command line.
    const parameter = await readFile(path.join(dir, 'parameter'), 'utf8');
    expect(parameter).toContain('server: https://10.0.3.17:8443');
    expect(parameter).toContain('client-key-data: S0VZ');
    expect(lines.join('\n')).not.toContain('S0VZ');
    expect(r.stdout).toContain('c2c-user-data: ready');
  });

  it('without the parameter it stops at once, naming what is missing, and starts nothing', async () => {
    await writeFile(calls, '');
    await expect(userData({ C2C_REGION: 'eu-west-1' })).rejects.toThrow(
      /C2C_PARAMETER: the action sets C2C_PARAMETER/,
    );
    expect((await readFile(calls, 'utf8')).trim()).toBe('');
  });

  it.skipIf(!haveShellcheck)('is shellcheck-clean', async () => {
    const r = await run('shellcheck', ['--severity=style', SCRIPT]).catch((e: { stdout: string }) => e);
    expect('stdout' in r ? r.stdout : '').toBe('');
  });
});
