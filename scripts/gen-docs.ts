// Generates each action's action.yml and the inputs/outputs tables in its README from
// src/actions/meta (the one source). `npm run docs`; test/unit/action-metadata.test.ts checks they are current.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ACTIONS, type ActionMeta } from '../src/actions/meta/index.js';

function yamlString(s: string): string {
  return JSON.stringify(s);
}

export function renderActionYml(a: ActionMeta): string {
  const lines = [
    '# Generated from src/actions/meta by `npm run docs`: edit there, not here.',
    `name: ${yamlString(a.name)}`,
    `description: ${yamlString(a.description)}`,
    'author: commit-to-cloud',
    'branding:',
    `  icon: ${a.branding.icon}`,
    `  color: ${a.branding.color}`,
    'inputs:',
  ];
  for (const [name, def] of Object.entries(a.inputs)) {
    lines.push(
      `  ${name}:`,
      `    description: ${yamlString(def.description)}`,
      `    required: ${def.required ? 'true' : 'false'}`,
    );
    if (!def.required) lines.push(`    default: ${yamlString(def.default ?? '')}`);
  }
  lines.push('outputs:');
  for (const [name, description] of Object.entries(a.outputs))
    lines.push(`  ${name}:`, `    description: ${yamlString(description)}`);
  lines.push('runs:', '  using: node24', '  main: dist/index.js');
  if (a.post) lines.push('  post: dist/index.js', '  post-if: always()');
  return lines.join('\n') + '\n';
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function renderTables(a: ActionMeta): string {
  const rows = ['| input | default | description |', '|---|---|---|'];
  for (const [name, def] of Object.entries(a.inputs)) {
    const d = def.required ? '(required)' : def.default ? `\`${def.default}\`` : "`''`";
    rows.push(`| \`${name}\` | ${cell(d)} | ${cell(def.description)} |`);
  }
  rows.push('', '| output | description |', '|---|---|');
  for (const [name, description] of Object.entries(a.outputs))
    rows.push(`| \`${name}\` | ${cell(description)} |`);
  return rows.join('\n');
}

export const START = '<!-- generated:inputs-outputs:start -->';
export const END = '<!-- generated:inputs-outputs:end -->';

export function replaceTables(readme: string, a: ActionMeta): string {
  const i = readme.indexOf(START);
  const j = readme.indexOf(END);
  if (i < 0 || j < i) throw new Error(`${a.dir}/README.md has no ${START} … ${END} block`);
  return `${readme.slice(0, i + START.length)}\n${renderTables(a)}\n${readme.slice(j)}`;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  for (const a of ACTIONS) {
    writeFileSync(`${a.dir}/action.yml`, renderActionYml(a));
    const readmePath = `${a.dir}/README.md`;
    if (existsSync(readmePath)) writeFileSync(readmePath, replaceTables(readFileSync(readmePath, 'utf8'), a));
    console.log(`${a.dir}: action.yml and README tables written`);
  }
}
