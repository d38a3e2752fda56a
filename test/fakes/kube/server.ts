import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { parse as parseYaml } from 'yaml';
import {
  jsonPatch,
  mergePatch,
  recordUpdate,
  serverSideApply,
  strategicMergePatch,
  describePath,
} from './apply.js';
import type { Controllers } from './controllers.js';
import { applyDefaults, validate } from './defaults.js';
import {
  apiGroupDoc,
  apiGroupListDoc,
  apiVersionOf,
  apiVersionsDoc,
  findResource,
  resourceListDoc,
  RESOURCES,
  versionDoc,
  type ResourceDef,
} from './resources.js';
import { Store, now, parseFieldSelector, parseLabelSelector, type Obj, type Watcher } from './store.js';
import { toTable } from './tables.js';

/**
 * The fake's HTTP side: authentication (client certificate or bearer token), RBAC denials a test
 * sets, injected faults, the request log, routing of the REST paths, and the verbs: list, watch,
 * get, create, update, patch (apply, merge, strategic, JSON), delete, pods/log.
 */
export interface Forbid {
  verb: string;
  /** Plural resource ('deployments'), or '*'. */
  resource: string;
  namespace?: string;
}

export interface Fault {
  /**
   * 'status': answer with this HTTP status (429 carries Retry-After); 'drop': destroy the socket;
   * 'cut': answer 200, then destroy the socket before a byte of the body (a watch that breaks
   * mid-stream: the client sees a raw socket error, not an API error); 'hold': the request waits
   * (a slow network or server) until `until` settles, then is answered as usual (`onHold` is called
   * when it arrives, so a test can act in that moment).
   */
  kind: 'status' | 'drop' | 'cut' | 'hold';
  until?: Promise<unknown>;
  onHold?: () => void;
  status?: number;
  retryAfterSeconds?: number;
  method?: string;
  /** The fault applies to paths containing this string. */
  pathIncludes?: string;
  /** Include watch requests (default: only non-watch requests). */
  watch?: boolean;
  /** How many requests it hits. Default 1. */
  times?: number;
  /** Only dry-run requests (true) or only real ones (false); default both. */
  dryRun?: boolean;
  /** Status reason and message of the answer (e.g. a quota or an admission webhook's denial). */
  reason?: string;
  message?: string;
}

export interface LoggedRequest {
  method: string;
  path: string;
  status: number;
  user: string;
  watch: boolean;
  contentType?: string;
}

export interface ServerState {
  store: Store;
  controllers: Controllers;
  tokens: Map<string, string>;
  forbids: Forbid[];
  faults: Fault[];
  requestLog: LoggedRequest[];
  openWatches: Set<ServerResponse>;
  bookmarkIntervalMs: number;
}

class HttpStatus extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Obj,
  ) {
    super(message);
  }
}

function statusBody(code: number, reason: string, message: string, details?: Obj): Obj {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

const qualified = (r: ResourceDef) => (r.group ? `${r.resource}.${r.group}` : r.resource);

function notFound(r: ResourceDef, name: string): HttpStatus {
  return new HttpStatus(404, 'NotFound', `${qualified(r)} "${name}" not found`, {
    name,
    ...(r.group ? { group: r.group } : {}),
    kind: r.resource,
  });
}

function send(res: ServerResponse, code: number, body: unknown, log: LoggedRequest): void {
  log.status = code;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, {
    'content-type': typeof body === 'string' ? 'text/plain' : 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

interface Route {
  res: ResourceDef;
  namespace?: string;
  name?: string;
  sub?: string;
}

/**
 * The first string field of an applied configuration that holds another type, in the form of the
 * real server's structured-merge-diff message; undefined when the typed fields are strings.
 */
function typedPatchError(o: Obj): string | undefined {
  const notString = (v: unknown) => v !== undefined && v !== null && typeof v !== 'string';
  const got = (v: unknown) =>
    `expected string, got &value.valueUnstructured{Value:${typeof v === 'number' ? v : String(v)}}`;
  for (const [k, v] of Object.entries(o.metadata?.labels ?? {}))
    if (notString(v)) return `.metadata.labels.${k}: ${got(v)}`;
  for (const [k, v] of Object.entries(o.metadata?.annotations ?? {}))
    if (notString(v)) return `.metadata.annotations.${k}: ${got(v)}`;
  const template = o.spec?.template ?? o.spec?.jobTemplate?.spec?.template;
  const podSpec = o.kind === 'Pod' ? o.spec : template?.spec;
  const prefix =
    o.kind === 'Pod'
      ? '.spec'
      : o.spec?.jobTemplate
        ? '.spec.jobTemplate.spec.template.spec'
        : '.spec.template.spec';
  for (const list of ['initContainers', 'containers'])
    for (const c of (podSpec?.[list] ?? []) as Obj[]) {
      const at = `${prefix}.${list}[name="${String(c.name)}"]`;
      if (notString(c.image)) return `${at}.image: ${got(c.image)}`;
      for (const e of (c.env ?? []) as Obj[])
        if (notString(e.value)) return `${at}.env[name="${String(e.name)}"].value: ${got(e.value)}`;
    }
  return undefined;
}

/** Splits a REST path into resource, namespace, name and subresource. */
function route(segs: string[]): Route | undefined {
  let group = '';
  let version: string;
  let rest: string[];
  if (segs[0] === 'api') {
    version = segs[1] ?? '';
    rest = segs.slice(2);
  } else {
    group = segs[1] ?? '';
    version = segs[2] ?? '';
    rest = segs.slice(3);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && findResource(group, version, rest[2]!)?.namespaced) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const res = findResource(group, version, rest[0] ?? '');
  if (!res) return undefined;
  return { res, namespace, name: rest[1], sub: rest[2] };
}

const VERB_OF: Record<string, string> = {
  GET: 'get',
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

export function makeHandler(state: ServerState) {
  const { store, controllers } = state;

  const userOf = (req: IncomingMessage): string | undefined => {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) return state.tokens.get(auth.slice(7));
    const sock = req.socket as TLSSocket;
    if (sock.authorized) {
      const cert = sock.getPeerCertificate();
      const cn = cert?.subject?.CN;
      return Array.isArray(cn) ? cn[0] : cn;
    }
    return undefined;
  };

  const checkRbac = (verb: string, r: Route, user: string) => {
    const hit = state.forbids.find(
      (f) =>
        (f.verb === verb || f.verb === '*') &&
        (f.resource === r.res.resource || f.resource === '*') &&
        (!f.namespace || f.namespace === r.namespace),
    );
    if (!hit) return;
    const what = r.name ? `${qualified(r.res)} "${r.name}"` : qualified(r.res);
    throw new HttpStatus(
      403,
      'Forbidden',
      `${what} is forbidden: User "${user}" cannot ${verb} resource "${r.res.resource}${r.sub ? `/${r.sub}` : ''}" in API group "${r.res.group}"${r.namespace ? ` in the namespace "${r.namespace}"` : ' at the cluster scope'}`,
      {
        ...(r.name ? { name: r.name } : {}),
        ...(r.res.group ? { group: r.res.group } : {}),
        kind: r.res.resource,
      },
    );
  };

  const namespaceExists = (ns: string) =>
    !!store.get(
      RESOURCES.find((x) => x.kind === 'Namespace')!,
      undefined,
      ns,
    );

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://fake');
    const q = url.searchParams;
    const watch = q.get('watch') === '1' || q.get('watch') === 'true';
    const log: LoggedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname + url.search,
      status: 0,
      user: '',
      watch,
      contentType: req.headers['content-type'],
    };
    state.requestLog.push(log);
    try {
      // Injected faults first: they stand for the network and an overloaded server.
      const fault = state.faults.find(
        (f) =>
          (f.times ?? 1) > 0 &&
          (!f.method || f.method === req.method) &&
          (!f.pathIncludes || log.path.includes(f.pathIncludes)) &&
          (f.dryRun === undefined || f.dryRun === /[?&]dryRun=All/.test(log.path)) &&
          (f.watch ? true : !watch),
      );
      if (fault?.kind === 'hold') {
        fault.times = (fault.times ?? 1) - 1;
        fault.onHold?.();
        await fault.until?.catch(() => undefined);
      } else if (fault) {
        fault.times = (fault.times ?? 1) - 1;
        if (fault.kind === 'drop') {
          log.status = -1;
          req.socket.destroy();
          return;
        }
        if (fault.kind === 'cut') {
          log.status = -2;
          res.writeHead(200, { 'content-type': 'application/json' });
          res.flushHeaders();
          setTimeout(() => req.socket.destroy(), 20);
          return;
        }
        const code = fault.status ?? 500;
        if (code === 429) res.setHeader('retry-after', String(fault.retryAfterSeconds ?? 1));
        send(
          res,
          code,
          statusBody(
            code,
            fault.reason ?? (code === 429 ? 'TooManyRequests' : 'InternalError'),
            fault.message ??
              (code === 429
                ? 'the server has received too many requests and has asked us to try again later'
                : 'an error on the server ("injected fault") has prevented the request from succeeding'),
            code === 429 ? { retryAfterSeconds: fault.retryAfterSeconds ?? 1 } : undefined,
          ),
          log,
        );
        return;
      }
      const user = userOf(req);
      if (!user) throw new HttpStatus(401, 'Unauthorized', 'Unauthorized');
      log.user = user;
      const segs = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      const p = url.pathname.replace(/\/$/, '');
      if (req.method === 'GET') {
        if (p === '/version') return send(res, 200, versionDoc(), log);
        if (p === '/healthz' || p === '/readyz' || p === '/livez') return send(res, 200, 'ok', log);
        if (p === '/api') return send(res, 200, apiVersionsDoc(), log);
        if (p === '/apis') return send(res, 200, apiGroupListDoc(), log);
        if (segs[0] === 'api' && segs.length === 2) {
          const d = resourceListDoc('', segs[1]!);
          if (d) return send(res, 200, d, log);
        }
        if (segs[0] === 'apis' && segs.length === 2) {
          const d = apiGroupDoc(segs[1]!);
          if (d) return send(res, 200, d, log);
        }
        if (segs[0] === 'apis' && segs.length === 3) {
          const d = resourceListDoc(segs[1]!, segs[2]!);
          if (d) return send(res, 200, d, log);
        }
      }
      // Who am I, and what may I do: the fake grants every user everything a test does not forbid.
      if (req.method === 'POST' && p === '/apis/authentication.k8s.io/v1/selfsubjectreviews')
        return send(
          res,
          201,
          {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'SelfSubjectReview',
            status: { userInfo: { username: user, groups: ['system:authenticated'] } },
          },
          log,
        );
      if (req.method === 'POST' && p === '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews') {
        // Everything, less what forbid() denies in the namespace asked about: as allow rules, the
        // form the real server answers in (one rule per resource a denial touches).
        const ns = (JSON.parse((await readBody(req)).toString('utf8') || '{}') as Obj).spec?.namespace;
        const denied = state.forbids.filter((f) => !f.namespace || f.namespace === ns);
        const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];
        const resourceRules = denied.length
          ? RESOURCES.map((d) => ({
              verbs: VERBS.filter(
                (v) =>
                  !denied.some(
                    (f) =>
                      (f.verb === v || f.verb === '*') && (f.resource === d.resource || f.resource === '*'),
                  ),
              ),
              apiGroups: [d.group],
              resources: [d.resource],
            })).filter((r) => r.verbs.length)
          : [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }];
        return send(
          res,
          201,
          {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectRulesReview',
            status: { resourceRules, nonResourceRules: [], incomplete: false },
          },
          log,
        );
      }
      if (req.method === 'POST' && p === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews') {
        // Allowed unless forbid() denies it: the same rule the fake's requests are refused by.
        const body = JSON.parse((await readBody(req)).toString('utf8') || '{}') as Obj;
        const a = (body.spec?.resourceAttributes ?? {}) as Record<string, string | undefined>;
        const hit = state.forbids.some(
          (f) =>
            (f.verb === a.verb || f.verb === '*') &&
            (f.resource === a.resource || f.resource === '*') &&
            (!f.namespace || f.namespace === a.namespace),
        );
        return send(
          res,
          201,
          {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: body.spec ?? {},
            status: { allowed: !hit, ...(hit ? { reason: 'forbidden by the fake (forbid())' } : {}) },
          },
          log,
        );
      }
      const r = segs[0] === 'api' || segs[0] === 'apis' ? route(segs) : undefined;
      if (!r) throw new HttpStatus(404, 'NotFound', 'the server could not find the requested resource');
      if (r.sub && !(r.res.subresources ?? []).includes(r.sub))
        throw new HttpStatus(404, 'NotFound', 'the server could not find the requested resource');
      if (r.res.namespaced && !r.namespace && r.name)
        throw new HttpStatus(404, 'NotFound', 'the server could not find the requested resource');

      const ctype = String(req.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim();
      if (ctype === 'application/vnd.kubernetes.protobuf')
        throw new HttpStatus(
          415,
          'UnsupportedMediaType',
          'the fake API server speaks JSON only: protobuf request bodies are not supported',
        );

      let verb = VERB_OF[req.method ?? 'GET'] ?? 'get';
      if (req.method === 'GET' && !r.name) verb = watch ? 'watch' : 'list';
      if (req.method === 'GET' && r.name && watch) verb = 'watch';
      if (req.method === 'DELETE' && !r.name) verb = 'deletecollection';
      checkRbac(verb, r, user);

      const dryRun = q.getAll('dryRun').includes('All');
      const accept = String(req.headers.accept ?? '');

      if (verb === 'watch') return startWatch(r, q, req, res, log);
      if (verb === 'list') {
        let match: (o: Obj) => boolean;
        try {
          const l = parseLabelSelector(q.get('labelSelector'));
          const f = parseFieldSelector(q.get('fieldSelector'));
          match = (o) => l(o) && f(o);
        } catch (err) {
          throw new HttpStatus(400, 'BadRequest', (err as Error).message);
        }
        const items = store.list(r.res, r.namespace, match);
        const list = {
          kind: `${r.res.kind}List`,
          apiVersion: apiVersionOf(r.res),
          metadata: { resourceVersion: String(store.currentRv()) },
          items: items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest),
        };
        if (accept.includes('as=Table'))
          return send(
            res,
            200,
            toTable(r.res, items, String(store.currentRv()), q.get('includeObject') ?? 'Metadata'),
            log,
          );
        return send(res, 200, list, log);
      }
      if (verb === 'get') {
        if (r.sub === 'log') {
          const pod = store.get(r.res, r.namespace, r.name!);
          if (!pod) throw notFound(r.res, r.name!);
          let lines = controllers.podLog(pod, q.get('container') ?? undefined);
          const tail = q.get('tailLines');
          if (tail !== null) lines = lines.slice(-Number(tail));
          return send(res, 200, lines.map((l) => `${l}\n`).join(''), log);
        }
        const o = store.get(r.res, r.namespace, r.name!);
        if (!o) throw notFound(r.res, r.name!);
        if (accept.includes('as=Table'))
          return send(
            res,
            200,
            toTable(r.res, [o], o.metadata.resourceVersion, q.get('includeObject') ?? 'Metadata'),
            log,
          );
        return send(res, 200, o, log);
      }
      if (verb === 'deletecollection')
        throw new HttpStatus(405, 'MethodNotAllowed', 'deletecollection is not supported by the fake');

      const body = await readBody(req);
      if (r.namespace && r.res.kind !== 'Namespace' && !namespaceExists(r.namespace) && verb !== 'delete')
        throw new HttpStatus(404, 'NotFound', `namespaces "${r.namespace}" not found`, {
          name: r.namespace,
          kind: 'namespaces',
        });
      const manager = q.get('fieldManager') ?? String(req.headers['user-agent'] ?? 'unknown').split('/')[0]!;

      if (verb === 'delete') {
        const o = store.get(r.res, r.namespace, r.name!);
        if (!o) throw notFound(r.res, r.name!);
        if (!dryRun) store.delete(r.res, r.namespace, r.name!);
        // Dependents go with their owner (background propagation) on the controllers' next sweep.
        return send(
          res,
          200,
          {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Success',
            details: {
              name: r.name,
              ...(r.res.group ? { group: r.res.group } : {}),
              kind: r.res.resource,
              uid: o.metadata.uid,
            },
          },
          log,
        );
      }

      let parsed: unknown;
      try {
        parsed =
          ctype === 'application/apply-patch+yaml'
            ? parseYaml(body.toString('utf8'))
            : JSON.parse(body.toString('utf8'));
      } catch (err) {
        throw new HttpStatus(
          400,
          'BadRequest',
          `error decoding ${ctype || 'body'}: ${(err as Error).message}`,
        );
      }

      if (verb === 'create') {
        const o = parsed as Obj;
        checkIdentity(r, o, true);
        o.metadata ??= {};
        if (!o.metadata.name && o.metadata.generateName)
          o.metadata.name = `${o.metadata.generateName}${Math.random().toString(36).slice(2, 7)}`;
        if (r.namespace) o.metadata.namespace = r.namespace;
        if (store.get(r.res, r.namespace, o.metadata.name))
          throw new HttpStatus(
            409,
            'AlreadyExists',
            `${qualified(r.res)} "${o.metadata.name}" already exists`,
            { name: o.metadata.name, ...(r.res.group ? { group: r.res.group } : {}), kind: r.res.resource },
          );
        return send(res, 201, write(r, undefined, o, manager, dryRun), log);
      }

      const live = store.get(r.res, r.namespace, r.name!);
      if (verb === 'update') {
        const o = parsed as Obj;
        checkIdentity(r, o, false);
        if (!live) throw notFound(r.res, r.name!);
        if (o.metadata?.resourceVersion && o.metadata.resourceVersion !== live.metadata.resourceVersion)
          throw new HttpStatus(
            409,
            'Conflict',
            `Operation cannot be fulfilled on ${qualified(r.res)} "${r.name}": the object has been modified; please apply your changes to the latest version and try again`,
            { name: r.name, ...(r.res.group ? { group: r.res.group } : {}), kind: r.res.resource },
          );
        const next = r.sub === 'status' ? { ...live, status: o.status } : { ...o, status: live.status };
        return send(res, 200, write(r, live, next, manager, dryRun), log);
      }

      // PATCH
      if (ctype === 'application/apply-patch+yaml') {
        const o = parsed as Obj;
        if (!o || typeof o !== 'object')
          throw new HttpStatus(400, 'BadRequest', 'apply patch must be an object');
        checkIdentity(r, o, true);
        if (!o.apiVersion || !o.kind)
          throw new HttpStatus(400, 'BadRequest', 'apiVersion and kind must be set in an apply patch');
        if (!q.get('fieldManager'))
          throw new HttpStatus(
            422,
            'Invalid',
            'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
            {
              causes: [
                {
                  type: 'FieldValueRequired',
                  message: 'Required value: is required for apply patch',
                  field: 'fieldManager',
                },
              ],
            },
          );
        const force = q.get('force') === 'true';
        const config = structuredClone(o);
        if (r.namespace) config.metadata = { ...config.metadata, namespace: r.namespace };
        // The real server types the applied configuration first: a value of the wrong type is a 500
        // "failed to create typed patch object", not a 422 (checked for the string fields users get
        // wrong through YAML 1.1: `on`, `yes`, `1.10` unquoted).
        const typeError = typedPatchError(config);
        if (typeError)
          throw new HttpStatus(
            500,
            'InternalError',
            `failed to create typed patch object (${r.namespace ? `${r.namespace}/` : ''}${r.name}; ${apiVersionOf(r.res)}, Kind=${r.res.kind}): ${typeError}`,
          );
        const result = serverSideApply(live, config, manager, force, apiVersionOf(r.res));
        if (result.conflicts.length && !force) {
          const plural = result.conflicts.length > 1;
          const msgs = result.conflicts.map(
            (c) => `conflict with "${c.manager}" using ${apiVersionOf(r.res)}: ${describePath(c.path)}`,
          );
          throw new HttpStatus(
            409,
            'Conflict',
            `Apply failed with ${result.conflicts.length} conflict${plural ? 's' : ''}: ${msgs.join('\n')}`,
            {
              causes: result.conflicts.map((c) => ({
                type: 'FieldManagerConflict',
                message: `conflict with "${c.manager}" using ${apiVersionOf(r.res)}`,
                field: describePath(c.path),
              })),
            },
          );
        }
        const next = result.object;
        next.metadata.name = r.name;
        if (r.namespace) next.metadata.namespace = r.namespace;
        return send(res, live ? 200 : 201, write(r, live, next, undefined, dryRun), log);
      }
      if (!live) throw notFound(r.res, r.name!);
      let next: Obj;
      try {
        if (ctype === 'application/json-patch+json') next = jsonPatch(live, parsed as Obj[]);
        else if (ctype === 'application/merge-patch+json') next = mergePatch(live, parsed) as Obj;
        else if (ctype === 'application/strategic-merge-patch+json')
          next = strategicMergePatch(live, parsed) as Obj;
        else
          throw new HttpStatus(
            415,
            'UnsupportedMediaType',
            `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
          );
      } catch (err) {
        if (err instanceof HttpStatus) throw err;
        throw new HttpStatus(422, 'Invalid', (err as Error).message);
      }
      if (r.sub !== 'status') next.status = live.status;
      // A patch that names a resourceVersion is a precondition (optimistic concurrency), as on a real server.
      if (next.metadata?.resourceVersion && next.metadata.resourceVersion !== live.metadata.resourceVersion)
        throw new HttpStatus(
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${qualified(r.res)} "${r.name}": the object has been modified; please apply your changes to the latest version and try again`,
          { name: r.name, ...(r.res.group ? { group: r.res.group } : {}), kind: r.res.resource },
        );
      return send(
        res,
        200,
        write(r, live, next, manager, dryRun, r.sub === 'status' ? 'status' : undefined),
        log,
      );
    } catch (err) {
      if (err instanceof HttpStatus)
        return send(res, err.code, statusBody(err.code, err.reason, err.message, err.details), log);
      return send(
        res,
        500,
        statusBody(500, 'InternalError', `fake API server error: ${(err as Error).stack ?? String(err)}`),
        log,
      );
    }
  };

  /** The object in the body must be the one the path names. */
  function checkIdentity(r: Route, o: Obj, allowMissingNs: boolean): void {
    if (!o || typeof o !== 'object')
      throw new HttpStatus(400, 'BadRequest', 'the request body is not an object');
    if (o.kind && o.kind !== r.res.kind)
      throw new HttpStatus(
        400,
        'BadRequest',
        `the kind of the object (${o.kind}) does not match the resource (${r.res.kind})`,
      );
    if (o.apiVersion && o.apiVersion !== apiVersionOf(r.res))
      throw new HttpStatus(
        400,
        'BadRequest',
        `the API version in the data (${o.apiVersion}) does not match the expected API version (${apiVersionOf(r.res)})`,
      );
    if (r.name && o.metadata?.name && o.metadata.name !== r.name)
      throw new HttpStatus(400, 'BadRequest', 'the name of the object does not match the name on the URL');
    const ns = o.metadata?.namespace;
    if (r.res.namespaced && ns && r.namespace && ns !== r.namespace)
      throw new HttpStatus(
        400,
        'BadRequest',
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    if (!allowMissingNs && r.res.namespaced && !r.namespace)
      throw new HttpStatus(400, 'BadRequest', 'namespace is required');
  }

  /** Defaults, validates, records ownership, stores (unless dry run) and returns the object. */
  function write(
    r: Route,
    live: Obj | undefined,
    next: Obj,
    manager: string | undefined,
    dryRun: boolean,
    subresource?: string,
  ): Obj {
    next.apiVersion = apiVersionOf(r.res);
    next.kind = r.res.kind;
    next.metadata ??= {};
    if (r.namespace) next.metadata.namespace = r.namespace;
    if (live) {
      next.metadata.uid = live.metadata.uid;
      next.metadata.creationTimestamp = live.metadata.creationTimestamp;
    } else {
      next.metadata.uid = next.metadata.uid ?? randomUUID();
      next.metadata.creationTimestamp = now();
    }
    applyDefaults(next);
    const causes = validate(next);
    // As the real server: a Job's pod template cannot change once the Job exists.
    if (
      live &&
      r.res.kind === 'Job' &&
      subresource === undefined &&
      JSON.stringify(live.spec?.template?.spec) !== JSON.stringify(next.spec?.template?.spec)
    )
      causes.push({
        type: 'FieldValueInvalid',
        message: 'Invalid value: …: field is immutable',
        field: 'spec.template',
      });
    if (causes.length)
      throw new HttpStatus(
        422,
        'Invalid',
        `${r.res.kind} "${next.metadata.name ?? ''}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`,
        {
          name: next.metadata.name,
          ...(r.res.group ? { group: r.res.group } : {}),
          kind: r.res.kind,
          causes,
        },
      );
    if (manager) recordUpdate(live, next, manager, apiVersionOf(r.res), subresource);
    if (r.res.kind === 'Namespace' && live) next.status = live.status;
    if (dryRun) {
      const out = structuredClone(next);
      if (!live) delete out.metadata.resourceVersion;
      if (!live && out.spec !== undefined) out.metadata.generation = 1;
      if (live && out.spec !== undefined)
        out.metadata.generation =
          live.metadata.generation + (JSON.stringify(live.spec) === JSON.stringify(out.spec) ? 0 : 1);
      return out;
    }
    if (!live) {
      return store.create(r.res, next);
    }
    next.metadata.resourceVersion = live.metadata.resourceVersion;
    return store.update(r.res, next);
  }

  function startWatch(
    r: Route,
    q: URLSearchParams,
    req: IncomingMessage,
    res: ServerResponse,
    log: LoggedRequest,
  ): void {
    let match: (o: Obj) => boolean;
    try {
      const l = parseLabelSelector(q.get('labelSelector'));
      const f = parseFieldSelector(q.get('fieldSelector'));
      const nameSel = r.name;
      match = (o) => l(o) && f(o) && (!nameSel || o.metadata.name === nameSel);
    } catch (err) {
      throw new HttpStatus(400, 'BadRequest', (err as Error).message);
    }
    const rvParam = q.get('resourceVersion');
    log.status = 200;
    res.writeHead(200, {
      'content-type': 'application/json',
      'transfer-encoding': 'chunked',
      'cache-control': 'no-cache, private',
    });
    res.flushHeaders();
    let closed = false;
    const line = (type: string, object: Obj) => {
      if (!closed && !res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
    };
    const watcher: Watcher = {
      res: r.res,
      namespace: r.namespace,
      matches: match,
      send: (type, o) => !closed && line(type, o),
    };
    let bookmark: NodeJS.Timeout | undefined;
    let timeout: NodeJS.Timeout | undefined;
    const close = () => {
      if (closed) return;
      closed = true;
      store.watchers.delete(watcher);
      state.openWatches.delete(res);
      if (bookmark) clearInterval(bookmark);
      if (timeout) clearTimeout(timeout);
      res.end();
    };
    if (rvParam && rvParam !== '0') {
      const since = store.since(r.res, Number(rvParam));
      if (!since) {
        line(
          'ERROR',
          statusBody(410, 'Expired', `too old resource version: ${rvParam} (${store.currentRv()})`),
        );
        close();
        return;
      }
      for (const c of since)
        if ((!r.namespace || !r.res.namespaced || c.obj.metadata.namespace === r.namespace) && match(c.obj))
          line(c.type, c.obj);
    } else {
      for (const o of store.list(r.res, r.namespace, match)) line('ADDED', o);
    }
    store.watchers.add(watcher);
    state.openWatches.add(res);
    if (q.get('allowWatchBookmarks') === 'true')
      bookmark = setInterval(
        () =>
          line('BOOKMARK', {
            kind: r.res.kind,
            apiVersion: apiVersionOf(r.res),
            metadata: { resourceVersion: String(store.currentRv()) },
          }),
        state.bookmarkIntervalMs,
      );
    const ts = Number(q.get('timeoutSeconds') ?? 0);
    if (ts > 0) timeout = setTimeout(close, ts * 1000);
    req.on('close', close);
    res.on('close', close);
    res.on('finish', close);
  }
}
