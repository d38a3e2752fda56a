import { stat } from 'node:fs/promises';
import path from 'node:path';
import { C2CError, InputError } from '../core/index.js';
import { isLoopbackHost, parseImageReference } from '../images/index.js';
import { validateTargets, type PushTarget } from './auth.js';
import type { BuildInputNames, BuildRequest } from './types.js';

/** A request after validation: absolute paths, every tag host with a target. */
export interface ValidatedRequest extends BuildRequest {
  context: string;
  dockerfile: string;
  targets: PushTarget[];
}

const FIELD_LABEL: Record<keyof BuildInputNames, string> = {
  context: 'Build context',
  dockerfile: 'Dockerfile',
  tags: 'Image tag',
  buildArgs: 'Build argument',
  target: 'Target stage',
  platforms: 'Platform',
  labels: 'Label',
  secrets: 'Build secret',
  secretFiles: 'Build secret file',
};

function bad(req: BuildRequest, field: keyof BuildInputNames, problem: string, expected?: string): never {
  const input = req.inputNames?.[field];
  if (input) throw new InputError(input, problem, expected);
  throw new C2CError(`${FIELD_LABEL[field]}: ${problem}${expected ? `. Expected ${expected}` : ''}.`);
}

async function kind(p: string): Promise<'file' | 'dir' | 'other' | 'missing'> {
  try {
    const s = await stat(p);
    return s.isFile() ? 'file' : s.isDirectory() ? 'dir' : 'other';
  } catch {
    return 'missing';
  }
}

const PLATFORM = /^[a-z0-9_]+\/[a-z0-9_]+(?:\/[a-z0-9_.]+)?$/;
const ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const STAGE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** A secret id names the file /run/secrets/<id>, and sits in `--secret id=<id>,src=…`. */
export const SECRET_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
export const SECRET_ID_EXPECTED = 'letters, digits, _ . - (it names the file /run/secrets/<id>)';

/**
 * Checks everything about a build request before anything runs: context and dockerfile exist, tags
 * are full references with a tag, build args, target, platforms and labels are well formed, targets
 * are consistent. Throws the first problem found (an InputError when inputNames names the field).
 */
export async function validateBuildRequest(req: BuildRequest): Promise<ValidatedRequest> {
  const context = path.resolve(req.context || '.');
  const ck = await kind(context);
  if (ck === 'missing')
    bad(req, 'context', `the directory '${context}' does not exist`, 'an existing directory');
  if (ck !== 'dir') bad(req, 'context', `'${context}' is not a directory`, 'an existing directory');

  if (!req.dockerfile) bad(req, 'dockerfile', 'no Dockerfile was given', 'the path of a Dockerfile');
  const dockerfile = path.resolve(req.dockerfile);
  const dk = await kind(dockerfile);
  if (dk === 'missing')
    bad(req, 'dockerfile', `the file '${dockerfile}' does not exist`, 'the path of an existing Dockerfile');
  if (dk !== 'file')
    bad(req, 'dockerfile', `'${dockerfile}' is not a regular file`, 'the path of a Dockerfile');

  if (req.tags.length === 0)
    bad(req, 'tags', 'no image reference to push', 'at least one registry/repository:tag');
  const hosts = new Set<string>();
  for (const t of req.tags) {
    let ref;
    try {
      ref = parseImageReference(t);
    } catch (e) {
      bad(req, 'tags', (e as Error).message, "a full reference such as '127.0.0.1:5000/app:v1'");
    }
    if (ref.digest !== undefined)
      bad(req, 'tags', `'${t}' carries a digest; a digest cannot be pushed to`, 'registry/repository:tag');
    if (ref.tag === undefined) bad(req, 'tags', `'${t}' has no tag`, 'registry/repository:tag');
    hosts.add(ref.registry);
  }

  const ids = new Set<string>();
  for (const s of req.secrets ?? []) {
    const field = 'file' in s ? 'secretFiles' : 'secrets';
    if (!SECRET_ID.test(s.id)) bad(req, field, `'${s.id}' is not a valid secret id`, SECRET_ID_EXPECTED);
    if (ids.has(s.id)) bad(req, field, `secret id '${s.id}' is given twice`, 'each id once');
    ids.add(s.id);
    if ('value' in s) {
      if (!s.value) bad(req, field, `secret '${s.id}' is empty`, 'a value');
      continue;
    }
    const fk = await kind(s.file);
    if (fk === 'missing')
      bad(req, field, `the file of secret '${s.id}' ('${s.file}') does not exist`, 'the path of a file');
    if (fk !== 'file')
      bad(
        req,
        field,
        `the file of secret '${s.id}' ('${s.file}') is not a regular file`,
        'the path of a file',
      );
    if (s.file.includes(','))
      bad(req, field, `the path of secret '${s.id}' ('${s.file}') contains a comma`, 'a path without commas');
  }

  for (const [k] of req.buildArgs ?? [])
    if (!ARG_NAME.test(k))
      bad(
        req,
        'buildArgs',
        `'${k}' is not a valid build argument name`,
        'KEY=VALUE with KEY of letters, digits and _',
      );
  if (req.target !== undefined && req.target !== '' && !STAGE.test(req.target))
    bad(req, 'target', `'${req.target}' is not a valid stage name`, 'the name of a stage (FROM … AS name)');
  for (const p of req.platforms ?? [])
    if (!PLATFORM.test(p))
      bad(req, 'platforms', `'${p}' is not a platform`, 'os/arch[/variant], e.g. linux/amd64');
  for (const k of Object.keys(req.labels ?? {}))
    if (!k || /[\s=]/.test(k))
      bad(req, 'labels', `'${k}' is not a valid label key`, 'a key without spaces or =');
  for (const k of Object.keys(req.annotations ?? {}))
    if (!k || /[\s=]/.test(k))
      throw new C2CError(
        `Annotation: '${k}' is not a valid annotation key. Expected a key without spaces or =.`,
      );

  validateTargets(req.targets);
  const targets = [...req.targets];
  // A loopback registry named only in a tag: plain http, no credentials (the test and demo registries).
  for (const h of hosts)
    if (!targets.some((t) => t.host === h) && isLoopbackHost(h)) targets.push({ host: h, insecure: true });

  return { ...req, context, dockerfile, targets };
}
