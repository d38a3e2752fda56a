// Runs every benchmark in bench/ (or the ones named: npm run bench -- hash) one after another.
// Each prints its own table of times and ratios measured side by side in one run.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const only = process.argv.slice(2);
const benches = readdirSync('bench')
  .filter((f) => f.endsWith('.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
for (const b of benches) {
  console.log(`\n##### bench/${b}`);
  execFileSync(process.execPath, ['node_modules/.bin/tsx', `bench/${b}`], { stdio: 'inherit' });
}
