// Writes examples/many-services: one repository with many small services on one base, the shape the
// suite is for (the delivery talk behind it: 30 services, two people). Each service is a directory
// of services/ with a Dockerfile built on BASE_IMAGE; k8s/ holds a Deployment and a Service for each.
// One deploy step serves them all:
//
//   c2c deploy --manifests k8s/ --services 'services/*' --image <registry>/many-services/{service} \
//     --base-image <the base>
//
// The directory is committed; this script is how it was made, and test/unit/many-services.test.ts
// checks that the two agree. Regenerate after changing this file:
//
//   npx tsx scripts/many-services.ts                 # examples/many-services, 12 services
//   npx tsx scripts/many-services.ts --count 30 --out /tmp/shop30   # the talk's 30, elsewhere
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_OUT = path.join(ROOT, 'examples/many-services');
/** The registry the manifests name (the demo's local one); a deploy pins them to the pushed digests. */
const REGISTRY = '127.0.0.1:5000/many-services';

/** A shop's services: the first `count` of these, then svc13, svc14, … */
const NAMES = [
  'accounts',
  'cart',
  'catalog',
  'checkout',
  'gateway',
  'inventory',
  'notifications',
  'orders',
  'payments',
  'recommendations',
  'search',
  'shipping',
];

export function serviceNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => NAMES[i] ?? `svc${String(i + 1).padStart(2, '0')}`);
}

/** Every file of the example: path relative to its directory → content. */
export function manyServicesFiles(count = NAMES.length): Map<string, string> {
  if (!Number.isInteger(count) || count < 1 || count > 200)
    throw new Error(`--count: '${count}' is not a whole number from 1 to 200`);
  const names = serviceNames(count);
  const files = new Map<string, string>();
  files.set('README.md', readme(names));
  files.set(
    'Dockerfile.base',
    [
      '# The base every service starts FROM: rebuilt only when this file or requirements.txt changes',
      '# (action-hash-base decides).',
      'ARG ROOT_IMAGE',
      'FROM ${ROOT_IMAGE}',
      'COPY requirements.txt /opt/app/requirements.txt',
      '',
    ].join('\n'),
  );
  files.set('requirements.txt', '# Stand-ins for the dependencies the services share.\nflask==3.0.3\n');
  for (const name of names) {
    const port = 8080;
    files.set(
      `services/${name}/Dockerfile`,
      [
        'ARG BASE_IMAGE',
        'FROM ${BASE_IMAGE}',
        `COPY main.sh /srv/${name}/main.sh`,
        `EXPOSE ${port}`,
        `CMD ["sh", "/srv/${name}/main.sh"]`,
        '',
      ].join('\n'),
    );
    files.set(
      `services/${name}/main.sh`,
      [
        '#!/bin/sh',
        `# Stands in for the ${name} service: answers on :${port} with its name.`,
        'mkdir -p /tmp/www',
        `echo '${name} ok' > /tmp/www/healthz`,
        `exec httpd -f -p ${port} -h /tmp/www`,
        '',
      ].join('\n'),
    );
    files.set(`k8s/${name}.yaml`, manifest(name, port, name === 'gateway' ? 2 : 1));
  }
  return files;
}

function manifest(name: string, port: number, replicas: number): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels:
    app.kubernetes.io/name: ${name}
    app.kubernetes.io/part-of: many-services
spec:
  replicas: ${replicas}
  selector:
    matchLabels:
      app.kubernetes.io/name: ${name}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: ${name}
        app.kubernetes.io/part-of: many-services
    spec:
      containers:
        - name: ${name}
          image: ${REGISTRY}/${name}:latest
          ports:
            - containerPort: ${port}
          readinessProbe:
            httpGet:
              path: /healthz
              port: ${port}
---
apiVersion: v1
kind: Service
metadata:
  name: ${name}
  labels:
    app.kubernetes.io/part-of: many-services
spec:
  selector:
    app.kubernetes.io/name: ${name}
  ports:
    - port: 80
      targetPort: ${port}
`;
}

function readme(names: string[]): string {
  return `# many-services

${names.length} small services in one repository, each on one base image: the shape this suite is
for. Written by [\`scripts/many-services.ts\`](../../scripts/many-services.ts) (\`--count 30\` for
more); do not edit by hand, regenerate.

- \`services/<name>/\`: one directory per service (${names.map((n) => `\`${n}\``).join(', ')}),
  each with a Dockerfile \`FROM \${BASE_IMAGE}\`.
- \`Dockerfile.base\` and \`requirements.txt\`: the base every service starts from.
- \`k8s/<name>.yaml\`: a Deployment and a Service per service, naming
  \`${REGISTRY}/<name>:latest\`; the deploy pins each to the digest it pushed.

One step deploys them all: every service is tagged \`src-\` + a hash of its directory, its
Dockerfile and the base, only the services without an image under that tag are built (in parallel),
and the whole set is validated, applied, watched and rolled back as one.

\`\`\`yaml
- uses: your-org/commit-to-cloud/action-deploy-k8s@v1
  with:
    manifests: k8s/
    services: services/*
    image: \${{ env.REGISTRY }}/many-services/{service}
    base-image: \${{ steps.base.outputs.image-ref }}
\`\`\`

or, outside GitHub:

\`\`\`sh
c2c deploy --manifests k8s/ --services 'services/*' \\
  --image 127.0.0.1:5000/many-services/{service} --base-image "$BASE_IMAGE"
\`\`\`

A push that changes one service builds that one and reuses the other ${names.length - 1}; only its
Deployment rolls. \`test/e2e/cli-commands.e2e.test.ts\` ("examples/many-services") runs exactly
this with the real registry, buildah and a genuine Kubernetes control plane: about 15 s for the
first deploy of all ${names.length} on two cores.
`;
}

async function main(argv: string[]): Promise<void> {
  let count = NAMES.length;
  let out = DEFAULT_OUT;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--count') count = Number(argv[++i]);
    else if (a === '--out') out = path.resolve(argv[++i] ?? '');
    else throw new Error(`unknown argument '${a}': usage: scripts/many-services.ts [--count N] [--out DIR]`);
  }
  const files = manyServicesFiles(count);
  // The example's own directory is written afresh; any other is never emptied: it must be new or empty.
  if (out === DEFAULT_OUT) await rm(out, { recursive: true, force: true });
  else if ((await readdir(out).catch(() => [])).length)
    throw new Error(`--out: ${out} is not empty: name a new or empty directory`);
  for (const [rel, text] of files) {
    const p = path.join(out, rel);
    await mkdir(path.dirname(p), { recursive: true });
    await writeFile(p, text, { mode: rel.endsWith('.sh') ? 0o755 : 0o644 });
  }
  console.log(`${path.relative(process.cwd(), out) || '.'}: ${count} services, ${files.size} files`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  main(process.argv.slice(2)).catch((e: Error) => {
    console.error(e.message);
    process.exit(1);
  });
