// Builds the TypeScript (tsc -> lib/) and bundles each action and the CLI with @vercel/ncc into a
// single committed file: action-*/dist/index.js and cli/dist/index.js.
import { execFileSync } from 'node:child_process';
import { copyFileSync, rmSync, existsSync, readdirSync, writeFileSync } from 'node:fs';

const targets = [
  ['lib/actions/hash-base/main.js', 'action-hash-base/dist'],
  ['lib/actions/deploy-k8s/main.js', 'action-deploy-k8s/dist'],
  ['lib/actions/feature-env/main.js', 'action-feature-env/dist'],
  ['lib/cli/main.js', 'cli/dist'],
];

rmSync('lib', { recursive: true, force: true });
execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
for (const [entry, out] of targets) {
  if (!existsSync(entry)) continue;
  rmSync(out, { recursive: true, force: true });
  execFileSync(
    'npx',
    [
      'ncc',
      'build',
      entry,
      '-o',
      out,
      '--minify',
      '--no-source-map-register',
      '--license',
      'licenses.txt',
      '-q',
    ],
    {
      stdio: 'inherit',
    },
  );
  // ncc writes ESM: say so next to it, so node treats it as a module wherever the action is checked out.
  writeFileSync(`${out}/package.json`, '{ "type": "module" }\n');
  // isolation: ec2 sends the user data script as it is: it ships beside the bundle that reads it.
  if (out === 'action-feature-env/dist' || out === 'cli/dist')
    copyFileSync('infra/ec2/user-data.sh', `${out}/user-data.sh`);
  console.log(`${out}: ${readdirSync(out).join(', ')}`);
}
