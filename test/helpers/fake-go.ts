import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * A `go` of the tests' own, for what test/helpers/cluster-build.ts runs (the real build takes ten
 * minutes and a gigabyte of downloads; test/cluster runs what it built). It answers the go commands
 * the build runs as the real one does: `env GOVERSION`, `mod download -json` (a go.mod with two
 * staging modules), `list -deps` (the packages), and `build -o OUT PKG...`, which writes the binaries
 * it is asked for after FAKE_GO_MS milliseconds (default 600): copies from FAKE_GO_COPY_FROM when
 * that is set (a directory of real binaries), else a few bytes. A build of a package whose path
 * contains FAKE_GO_FAIL fails as a compile error would. Each list and build is recorded, as a JSON
 * line in FAKE_GO_LOG, with its module directory, packages and start and end times.
 */
const SCRIPT = `#!/usr/bin/env node
const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
const record = (entry) => process.env.FAKE_GO_LOG && fs.appendFileSync(process.env.FAKE_GO_LOG, JSON.stringify(entry) + '\\n');
const cwd = path.basename(process.cwd());
if (args[0] === 'env' && args[1] === 'GOVERSION') { console.log('go1.26.0'); process.exit(0); }
if (args[0] === 'mod' && args[1] === 'download') {
  const gomod = path.join(process.cwd(), 'fake-go-kubernetes.mod');
  fs.writeFileSync(gomod, 'module k8s.io/kubernetes\\nrequire (\\n\\tk8s.io/api v0.0.0\\n\\tk8s.io/client-go v0.0.0\\n)\\n');
  console.log(JSON.stringify({ Path: 'k8s.io/kubernetes', GoMod: gomod }));
  process.exit(0);
}
if (args[0] === 'list' && args[1] === '-deps') {
  const pkgs = args.slice(2);
  record({ cwd, list: true, pkgs, start: Date.now() });
  setTimeout(() => { console.log(pkgs.join('\\n')); process.exit(0); }, 100);
} else if (args[0] === 'build') {
  const o = args.indexOf('-o');
  const output = args[o + 1];
  const pkgs = args.slice(o + 2);
  const start = Date.now();
  const fail = process.env.FAKE_GO_FAIL && pkgs.some((p) => p.includes(process.env.FAKE_GO_FAIL));
  setTimeout(() => {
    if (fail) { console.error('# ' + pkgs[0] + '\\nsomething.go:1:1: undefined: nothing'); process.exit(1); }
    const files = output.endsWith('/') ? pkgs.map((p) => path.join(output, path.basename(p))) : [output];
    for (const f of files) {
      const from = process.env.FAKE_GO_COPY_FROM;
      if (from) { fs.copyFileSync(path.join(from, path.basename(f)), f); fs.chmodSync(f, 0o755); }
      else fs.writeFileSync(f, 'binary');
    }
    record({ cwd, pkgs, start, end: Date.now() });
    process.exit(0);
  }, fail ? 200 : Number(process.env.FAKE_GO_MS || 600));
} else { console.error('fake go: unexpected ' + args.join(' ')); process.exit(2); }
`;

/** Writes the stand-in as `dir/go`; put `dir` first on PATH. */
export async function writeFakeGo(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'go');
  await writeFile(file, SCRIPT);
  await chmod(file, 0o755);
  return file;
}
