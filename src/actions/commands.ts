import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync } from 'node:fs';
import { access, appendFile, constants } from 'node:fs/promises';
import os from 'node:os';

/**
 * The runner's side of a step, as @actions/core speaks it: workflow commands on stdout (`::debug::`,
 * `::warning file=…,line=…::`, `::group::`, `::add-mask::`) and the file commands (GITHUB_OUTPUT,
 * GITHUB_STEP_SUMMARY). The same bytes as @actions/core writes (test/contract/actions-commands
 * checks it against the real package), without loading it: @actions/core imports
 * @actions/http-client and undici, a megabyte of bundle that every step would compile before it
 * exits, for the OIDC token none of these actions asks for.
 */

/** Where an annotation points (core's AnnotationProperties, the ones these actions set). */
export interface AnnotationProperties {
  title?: string;
  file?: string;
  startLine?: number;
  startColumn?: number;
}

const escapeData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

function issue(
  command: string,
  message: string,
  properties: Record<string, string | number | undefined> = {},
) {
  const props = Object.entries(properties)
    .filter(([, v]) => v)
    .map(([k, v]) => `${k}=${escapeProperty(String(v))}`)
    .join(',');
  process.stdout.write(`::${command}${props ? ` ${props}` : ''}::${escapeData(message)}${os.EOL}`);
}

/** core.toCommandProperties: the names the runner reads, in its order. */
function annotationOf(p: AnnotationProperties = {}): Record<string, string | number | undefined> {
  return { title: p.title, file: p.file, line: p.startLine, col: p.startColumn };
}

export const info = (message: string): void => void process.stdout.write(message + os.EOL);
export const debug = (message: string): void => issue('debug', message);
export const warning = (message: string, p?: AnnotationProperties): void =>
  issue('warning', message, annotationOf(p));
export const error = (message: string, p?: AnnotationProperties): void =>
  issue('error', message, annotationOf(p));
export const startGroup = (name: string): void => issue('group', name);
export const endGroup = (): void => issue('endgroup', '');
export const setSecret = (value: string): void => issue('add-mask', value);

/** The step fails (exit code 1) with this error. */
export function setFailed(message: string): void {
  process.exitCode = 1;
  error(message);
}

/** An output: to the GITHUB_OUTPUT file in a heredoc with a delimiter of its own, else the old command. */
export function setOutput(name: string, value: string): void {
  const file = process.env.GITHUB_OUTPUT || '';
  if (!file) {
    process.stdout.write(os.EOL);
    issue('set-output', value, { name });
    return;
  }
  if (!existsSync(file)) throw new Error(`Missing file at path: ${file}`);
  const delimiter = `ghadelimiter_${randomUUID()}`;
  if (name.includes(delimiter))
    throw new Error(`Unexpected input: name should not contain the delimiter "${delimiter}"`);
  if (value.includes(delimiter))
    throw new Error(`Unexpected input: value should not contain the delimiter "${delimiter}"`);
  appendFileSync(file, `${name}<<${delimiter}${os.EOL}${value}${os.EOL}${delimiter}${os.EOL}`, 'utf8');
}

/** Appends Markdown to the job summary (GITHUB_STEP_SUMMARY). */
export async function appendSummary(markdown: string): Promise<void> {
  const file = process.env.GITHUB_STEP_SUMMARY;
  if (!file)
    throw new Error(
      'Unable to find environment variable for $GITHUB_STEP_SUMMARY. Check if your runtime environment supports job summaries.',
    );
  try {
    await access(file, constants.R_OK | constants.W_OK);
  } catch {
    throw new Error(
      `Unable to access summary file: '${file}'. Check if the file has correct read/write permissions.`,
    );
  }
  await appendFile(file, markdown, { encoding: 'utf8' });
}
