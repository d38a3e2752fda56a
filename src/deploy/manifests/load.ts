import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseAllDocuments, type Document, type Tags } from 'yaml';
import {
  C2CError,
  InputError,
  ProblemsError,
  ToolMissingError,
  exec,
  ExecError,
  which,
  nullLogger,
} from '../../core/index.js';
import type { Logger, SourceLocation } from '../../core/index.js';
import { isKubeObject, type KubeObject } from '../../kube/index.js';
import { GLOB_MAGIC, globPaths } from './glob.js';
import {
  asObject,
  asString,
  get,
  groupOf,
  kindOf,
  nameOf,
  namespaceOf,
  type JsonObject,
} from '../objects.js';
import { workloadOverrides } from '../overrides.js';
import { phaseProblem } from '../phases.js';
import type { ChartOption } from '../inputs.js';
import { fromHelmHook, renderChart, type KubeCapabilities } from './helm.js';

/**
 * Reading the `manifests` input: files, directories and globs of YAML or JSON, and kustomize
 * directories, into a flat list of objects that each remember the file and line they came from.
 *
 * Which kustomize: a standalone `kustomize` on PATH (`kustomize build <dir>`) when there is one,
 * else the kustomize built into kubectl (`kubectl kustomize <dir>`; kubectl 1.32 embeds kustomize
 * v5.5.0). The one used is logged.
 *
 * YAML is read the way kubectl reads it: YAML 1.1 scalars (sigs.k8s.io/yaml uses go-yaml v2), so
 * `defaultMode: 0644` is the octal 420 the API expects and `yes`/`on` are booleans; timestamps stay
 * strings; duplicate keys are errors. Every problem in every file is collected before failing.
 */

/** An object as read, with where it came from; checked by validateManifests before it is a Manifest. */
export interface ManifestDraft extends Omit<Manifest, 'object'> {
  object: JsonObject;
}

export interface Manifest {
  /** apiVersion, kind and metadata.name checked (validateManifests). */
  object: KubeObject;
  /** Workspace-relative POSIX path (absolute when outside the workspace). For kustomize output: the kustomization file. */
  file: string;
  /** 1-based line where the document (or the List item) starts; 1 for kustomize output. */
  line: number;
  /** 0-based position in the loaded list: the order the objects were read (files sorted, documents in order). */
  index: number;
  /** Set for objects rendered by kustomize: the directory and the line within the rendered output. */
  kustomize?: { dir: string; line: number };
}

export interface LoadManifestsOptions {
  workspace: string;
  logger?: Logger;
  /** A Helm chart rendered into the set, after the manifests. */
  chart?: ChartOption;
  /** The cluster's version and API versions, for the chart's `.Capabilities`. */
  capabilities?: KubeCapabilities;
  /** Environment for finding and running kustomize/kubectl (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** One or more problems in the manifests; each problem carries file, line and column in `where`. */
export class ManifestError extends ProblemsError {
  override name = 'ManifestError';
  /** The input at fault, as an InputError names it. */
  readonly input = 'manifests';
  constructor(problems: C2CError[]) {
    const item = (p: C2CError) => `${formatWhere(p.where)}${p.message}`;
    const text =
      problems.length === 1
        ? item(problems[0]!)
        : `${problems.length} problems, nothing was applied:\n${problems.map((p) => indent(item(p))).join('\n')}`;
    super(`Input 'manifests': ${text}`, problems, problems[0]?.where ? { where: problems[0].where } : {});
  }
}

/** `  - first line` and the continuation lines (YAML excerpts) under it. */
function indent(text: string): string {
  return text
    .split('\n')
    .map((l, i) => (i === 0 ? `  - ${l}` : l ? `      ${l}` : l))
    .join('\n');
}

export function formatWhere(where?: SourceLocation): string {
  if (!where) return '';
  return `${where.file}${where.line ? `:${where.line}` : ''}${where.column ? `:${where.column}` : ''}: `;
}

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const MANIFEST_EXT = /\.(ya?ml|json)$/i;

/** What kustomize to run for a directory: standalone kustomize first, else kubectl's. */
export async function kustomizeCommand(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ cmd: string; args: (dir: string) => string[]; label: string }> {
  const pathVar = env.PATH ?? '';
  const standalone = await which('kustomize', pathVar);
  if (standalone)
    return {
      cmd: standalone,
      args: (dir) => ['build', dir],
      label: 'standalone kustomize (kustomize build)',
    };
  const kubectl = await which('kubectl', pathVar);
  if (kubectl)
    return {
      cmd: kubectl,
      args: (dir) => ['kustomize', dir],
      label: "kubectl's built-in kustomize (kubectl kustomize)",
    };
  throw new ToolMissingError(
    'kubectl',
    'rendering a kustomize directory needs kubectl (apt-get install kubectl) or kustomize on PATH',
  );
}

type Source = { kind: 'file'; abs: string } | { kind: 'kustomize'; dir: string; file: string };

/** Reads every manifest the inputs name, validates them all, and returns them in order. */
export async function loadManifests(inputs: string[], opts: LoadManifestsOptions): Promise<Manifest[]> {
  const logger = opts.logger ?? nullLogger;
  const workspace = path.resolve(opts.workspace);
  const rel = (abs: string) => {
    const r = path.relative(workspace, abs);
    if (r === '') return '.';
    return r.startsWith('..') || path.isAbsolute(r) ? abs : r.split(path.sep).join('/');
  };
  const problems: C2CError[] = [];
  const unmatched: string[] = [];
  const sources: Source[] = [];
  const seen = new Set<string>();
  let hits = 0;
  const addSource = (s: Source) => {
    hits++;
    const key = s.kind === 'file' ? s.abs : `kustomize:${s.dir}`;
    if (seen.has(key)) return;
    seen.add(key);
    sources.push(s);
  };

  const list = inputs.map((s) => s.trim()).filter(Boolean);
  if (list.length === 0 && !opts.chart)
    throw new InputError('manifests', 'is empty', 'files, directories or globs of Kubernetes YAML');

  for (const input of list) {
    const hitsBefore = hits;
    const problemsBefore = problems.length;
    if (GLOB_MAGIC.test(input)) {
      const matches = (await globPaths(input, workspace)).sort(byteOrder);
      for (const abs of matches) {
        const st = await stat(abs).catch(() => undefined);
        if (st?.isDirectory()) await addDirectory(abs, addSource, problems, rel, new Set());
        else if (st?.isFile()) addFileOrKustomization(abs, addSource);
      }
    } else {
      const abs = path.resolve(workspace, input);
      const st = await stat(abs).catch(() => undefined);
      if (st?.isDirectory()) {
        await addDirectory(abs, addSource, problems, rel, new Set());
        if (hits === hitsBefore && problems.length === problemsBefore) {
          problems.push(
            new C2CError(`directory '${input}' holds no .yaml, .yml or .json files`, {
              where: { file: rel(abs) },
            }),
          );
          continue;
        }
      } else if (st) addFileOrKustomization(abs, addSource);
    }
    if (hits === hitsBefore && problems.length === problemsBefore) unmatched.push(input);
  }

  if (unmatched.length > 0 && sources.length === 0 && problems.length === 0)
    throw new InputError(
      'manifests',
      `nothing matched ${unmatched.map((u) => `'${u}'`).join(', ')} in ${workspace}`,
      'existing files, directories or globs of YAML/JSON relative to the workspace',
    );
  for (const u of unmatched)
    problems.push(new C2CError(`'${u}' matched no file or directory (relative to ${workspace})`));

  const manifests: ManifestDraft[] = [];
  let kustomize: Awaited<ReturnType<typeof kustomizeCommand>> | undefined;
  for (const src of sources) {
    if (src.kind === 'file') {
      const file = rel(src.abs);
      let text: string;
      try {
        text = await readFile(src.abs, 'utf8');
      } catch (e) {
        problems.push(new C2CError(`cannot read: ${(e as Error).message}`, { where: { file } }));
        continue;
      }
      logger.debug(`Reading ${file}`);
      for (const p of parseManifestText(text, file, problems)) manifests.push({ ...p, index: 0 });
    } else {
      if (!kustomize) {
        kustomize = await kustomizeCommand(opts.env);
        logger.info(`Rendering kustomize directories with ${kustomize.label}`);
      }
      const file = rel(path.join(src.dir, src.file));
      const dirRel = rel(src.dir);
      logger.info(`Rendering ${dirRel} with kustomize`);
      let out: string;
      try {
        out = (
          await exec(kustomize.cmd, kustomize.args(src.dir), {
            cwd: src.dir,
            ...(opts.env ? { env: opts.env } : {}),
            timeoutMs: 120_000,
          })
        ).stdout;
      } catch (e) {
        const detail =
          e instanceof ExecError ? (e.result.stderr || e.result.stdout).trim() : (e as Error).message;
        problems.push(
          new C2CError(`kustomize could not render '${dirRel}': ${detail}`, { where: { file, line: 1 } }),
        );
        continue;
      }
      const rendered: C2CError[] = [];
      for (const p of parseManifestText(out, `${dirRel} (kustomize output)`, rendered))
        manifests.push({
          object: p.object,
          file,
          line: 1,
          index: 0,
          kustomize: { dir: dirRel, line: p.line },
        });
      problems.push(...rendered);
    }
  }
  if (opts.chart) {
    const text = await renderChart(opts.chart, {
      workspace,
      logger,
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.capabilities ? { capabilities: opts.capabilities } : {}),
    });
    const file = opts.chart.ref.startsWith('oci://') ? opts.chart.ref : rel(opts.chart.ref);
    const label = `${file} (helm template)`;
    let left = 0;
    for (const p of parseManifestText(text, label, problems)) {
      const hooked = fromHelmHook(p.object);
      if (typeof hooked === 'string') {
        problems.push(
          new C2CError(`${String(p.object.kind)}/${String(get(p.object, 'metadata', 'name'))}: ${hooked}`, {
            where: { file: label, line: p.line },
          }),
        );
        continue;
      }
      if (!hooked) {
        left++;
        continue;
      }
      manifests.push({ object: hooked, file: label, line: p.line, index: 0 });
    }
    if (left) logger.info(`${label}: ${left} test hook(s) left out, as helm install does`);
  }
  manifests.forEach((m, i) => (m.index = i));

  if (manifests.length === 0 && problems.length === 0)
    throw new InputError(
      'manifests',
      `${list.map((u) => `'${u}'`).join(', ')} hold no Kubernetes objects (only empty documents)`,
      'at least one object with apiVersion, kind and metadata.name',
    );

  problems.push(...validateManifests(manifests));
  if (problems.length > 0) throw new ManifestError(problems);
  logger.info(`Read ${manifests.length} object(s) from ${sources.length} source(s)`);
  // Every draft passed validation: each object has apiVersion, kind and metadata.
  return manifests.flatMap((m) => (isKubeObject(m.object) ? [{ ...m, object: m.object }] : []));
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function addFileOrKustomization(abs: string, add: (s: Source) => void): void {
  const base = path.basename(abs);
  if (KUSTOMIZATION_FILES.includes(base)) add({ kind: 'kustomize', dir: path.dirname(abs), file: base });
  else add({ kind: 'file', abs });
}

/**
 * A directory: rendered with kustomize when it holds a kustomization, else its *.yaml, *.yml and
 * *.json files, recursively, in byte order of names (subdirectories in place, like kubectl -R).
 * Hidden entries (.git, .github) are skipped; symlinked directories are followed once.
 */
async function addDirectory(
  abs: string,
  add: (s: Source) => void,
  problems: C2CError[],
  rel: (p: string) => string,
  visited: Set<string>,
): Promise<void> {
  const real = await realpath(abs).catch(() => abs);
  if (visited.has(real)) return;
  visited.add(real);
  let entries;
  try {
    entries = await readdir(abs, { withFileTypes: true });
  } catch (e) {
    problems.push(
      new C2CError(`cannot read directory: ${(e as Error).message}`, { where: { file: rel(abs) } }),
    );
    return;
  }
  const names = entries.map((e) => e.name).sort(byteOrder);
  const kfile = KUSTOMIZATION_FILES.find((k) => names.includes(k));
  if (kfile) {
    add({ kind: 'kustomize', dir: abs, file: kfile });
    return;
  }
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const child = path.join(abs, name);
    const st = await stat(child).catch(() => undefined);
    if (!st) continue;
    if (st.isDirectory()) await addDirectory(child, add, problems, rel, visited);
    else if (st.isFile() && MANIFEST_EXT.test(name)) add({ kind: 'file', abs: child });
  }
}

/** YAML 1.1 without timestamps: the scalars go-yaml v2 (and so kubectl) resolves. */
const customTags = (tags: Tags): Tags =>
  tags.filter((t) => typeof t === 'string' || t.tag !== 'tag:yaml.org,2002:timestamp');

/**
 * Parses one YAML/JSON text into objects with their lines: multi-document, empty documents skipped,
 * `List` kinds flattened into their items. Problems are appended to `problems`.
 */
export function parseManifestText(
  text: string,
  file: string,
  problems: C2CError[],
): Array<{ object: JsonObject; file: string; line: number }> {
  const out: Array<{ object: JsonObject; file: string; line: number }> = [];
  const lc = new LineCounter();
  const docs = parseAllDocuments(text.replace(/^\uFEFF/, ''), {
    lineCounter: lc,
    version: '1.1',
    customTags,
    uniqueKeys: true,
    prettyErrors: true,
  });
  if ('empty' in docs && docs.empty) {
    for (const e of docs.errors) problems.push(yamlProblem(e, file));
    return out;
  }
  const docList: Document.Parsed[] = docs;
  for (const doc of docList) {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) problems.push(yamlProblem(e, file));
      continue;
    }
    const contents = doc.contents;
    if (contents === null || contents === undefined) continue;
    const line = contents.range ? lc.linePos(contents.range[0]).line : 1;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      problems.push(new C2CError((e as Error).message, { where: { file, line } }));
      continue;
    }
    if (value === null || value === undefined) continue;
    const obj = asObject(value);
    if (!obj) {
      problems.push(
        new C2CError(
          `the document is ${Array.isArray(value) ? 'a sequence' : `the ${typeof value} ${JSON.stringify(value)}`}, not a Kubernetes object (a mapping with apiVersion, kind and metadata)`,
          { where: { file, line } },
        ),
      );
      continue;
    }
    if (isList(obj)) {
      const items = obj.items;
      if (items === undefined || items === null) continue;
      if (!Array.isArray(items)) {
        problems.push(
          new C2CError(`${kindOf(obj)} has 'items' that is not a list`, { where: { file, line } }),
        );
        continue;
      }
      const itemsNode = (contents as { get?: (k: string, keep: true) => unknown }).get?.('items', true) as
        { items?: Array<{ range?: [number, number, number] } | null> } | undefined;
      items.forEach((item, i) => {
        const node = itemsNode?.items?.[i];
        const itemLine = node?.range ? lc.linePos(node.range[0]).line : line;
        if (item === null || item === undefined) return;
        const o = asObject(item);
        if (!o) {
          problems.push(
            new C2CError(`item ${i} of the ${kindOf(obj)} is not a Kubernetes object`, {
              where: { file, line: itemLine },
            }),
          );
          return;
        }
        out.push({ object: o, file, line: itemLine });
      });
      continue;
    }
    out.push({ object: obj, file, line });
  }
  return out;
}

/** `List` and the typed lists (ConfigMapList, …) of the v1 API are flattened, as kubectl does. */
function isList(obj: JsonObject): boolean {
  const kind = kindOf(obj);
  return kind === 'List' || (kind.endsWith('List') && Array.isArray(obj.items));
}

function yamlProblem(e: { message: string; linePos?: Array<{ line: number; col: number }> }, file: string) {
  const pos = e.linePos?.[0];
  // The yaml package writes "<what> at line L, column C:" and a code excerpt; the position goes
  // into `where` (and the file:line:col prefix), the excerpt stays, indented under the message.
  const [first = '', ...rest] = e.message.split('\n');
  const head = first.replace(/ at line \d+, column \d+:?$/, '').replace(/:$/, '');
  const excerpt = rest
    .filter((l, i) => l.trim() !== '' || i > 0)
    .join('\n')
    .replace(/\s+$/, '');
  const message = `invalid YAML: ${head}${excerpt ? `\n${excerpt.replace(/^\n+/, '')}` : ''}`;
  return new C2CError(message, {
    where: { file, ...(pos ? { line: pos.line, column: pos.col } : {}) },
  });
}

/**
 * Checks what every object needs before anything is sent: apiVersion, kind and metadata.name as
 * non-empty strings (no generateName: apply needs a name), and no object twice.
 */
export function validateManifests(manifests: ManifestDraft[]): C2CError[] {
  const problems: C2CError[] = [];
  const firstSeen = new Map<string, ManifestDraft>();
  for (const m of manifests) {
    const where: SourceLocation = { file: m.file, line: m.line };
    const o = m.object;
    const missing: string[] = [];
    if (!nonEmpty(o.apiVersion)) missing.push('apiVersion');
    if (!nonEmpty(o.kind)) missing.push('kind');
    if (!nonEmpty(get(o, 'metadata', 'name'))) missing.push('metadata.name');
    const label = nonEmpty(o.kind)
      ? `${String(o.kind)}${nonEmpty(get(o, 'metadata', 'name')) ? `/${nameOf(o)}` : ''}`
      : 'object';
    const at = m.kustomize ? ` (kustomize output of ${m.kustomize.dir}, line ${m.kustomize.line})` : '';
    if (missing.length > 0) {
      const hint =
        missing.includes('metadata.name') && nonEmpty(get(o, 'metadata', 'generateName'))
          ? ' (generateName cannot be used with apply)'
          : '';
      problems.push(
        new C2CError(
          `${label} has no ${missing.join(', no ')}${hint}${at}; every object needs apiVersion, kind and metadata.name`,
          { where },
        ),
      );
      continue;
    }
    if (o.metadata !== undefined && !asObject(o.metadata)) {
      problems.push(new C2CError(`${label}: metadata is not a mapping${at}`, { where }));
      continue;
    }
    const id = `${groupOf(asString(o.apiVersion)!)}/${kindOf(o)}/${namespaceOf(o) ?? ''}/${nameOf(o)}`;
    const prev = firstSeen.get(id);
    if (prev)
      problems.push(
        new C2CError(
          `${label} appears twice (also at ${prev.file}:${prev.line})${at}; each object may be given once`,
          { where },
        ),
      );
    else firstSeen.set(id, m);
    const phase = phaseProblem(o);
    if (phase) problems.push(new C2CError(`${label}: ${phase}${at}`, { where }));
    try {
      workloadOverrides(o);
    } catch (e) {
      if (!(e instanceof C2CError)) throw e;
      problems.push(new C2CError(`${label}: ${e.message}${at}`, { where }));
    }
  }
  return problems;
}

function nonEmpty(v: unknown): boolean {
  return typeof v === 'string' && v.trim().length > 0;
}
