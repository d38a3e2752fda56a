import type { IncomingMessage } from 'node:http';
import {
  C2CError,
  request,
  requestStream,
  type HttpRequest,
  type HttpResponse,
  retry,
  isTransient,
  parseRetryAfter,
  type RetryOptions,
} from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { Credentials, KubeConnection } from './connection.js';
import { KindNotServedError, KubeApiError, KubeConflictError, KubeForbiddenError } from './errors.js';
import {
  splitApiVersion,
  type KubeEvent,
  type KubeList,
  type KubeObject,
  type KubeStatus,
  type ObjectRef,
  type ResourceInfo,
  type WatchEvent,
} from './types.js';

/** The field manager the engine applies with. */
export const FIELD_MANAGER = 'commit-to-cloud';

export interface KubeClientOptions {
  logger: Logger;
  /** Retry policy for every request (defaults: 5 attempts, 60 s). */
  retry?: RetryOptions;
  userAgent?: string;
  /** Per-request socket inactivity timeout. Default 30 s. */
  timeoutMs?: number;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
}

export interface ApplyOptions {
  /** Default FIELD_MANAGER. */
  fieldManager?: string;
  /** Take ownership of conflicting fields. Default false. */
  force?: boolean;
  /** Server-side dry run (dryRun=All): validated and defaulted, nothing stored. */
  dryRun?: boolean;
  /** Namespace for a namespaced object that names none. */
  namespace?: string;
}

export interface DeleteOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  dryRun?: boolean;
}

export type PatchType = 'json' | 'merge' | 'strategic';

export interface PatchOptions {
  fieldManager?: string;
  dryRun?: boolean;
}

export interface WatchOptions extends ListOptions {
  /**
   * Start after this resourceVersion. Without it the watch first lists (one request) and yields the
   * current objects as ADDED events, then follows changes from the list's resourceVersion.
   */
  resourceVersion?: string;
  /** Stops the watch; the iterator then ends. */
  signal?: AbortSignal;
  /** Server-side timeout of one watch request before it is reopened. Default 290 s. */
  timeoutSeconds?: number;
  /** Called when the stream is reopened or relisted (for logs and tests). */
  onReconnect?: (why: 'closed' | 'expired' | 'error', resourceVersion: string | undefined) => void;
}

export interface LogOptions {
  container?: string;
  tailLines?: number;
  previous?: boolean;
}

const CONTENT_JSON = 'application/json';
const PATCH_TYPES: Record<PatchType, string> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
};

/**
 * The one Kubernetes access layer: a small REST client over src/core/http.ts. Discovery is cached
 * per group-version, every request goes through the retry helper, and errors name the verb and the
 * resource. It counts requests (requestCount) so benchmarks can check how many a deploy needs.
 */
export class KubeClient {
  /** Requests sent, retries included. */
  requestCount = 0;
  readonly namespace: string;
  private readonly logger: Logger;
  private readonly retryOpts: RetryOptions;
  private readonly userAgent: string;
  private readonly timeoutMs: number;
  private creds: Credentials;
  private readonly groupVersions = new Map<string, Promise<ResourceInfo[] | null>>();

  constructor(
    readonly connection: KubeConnection,
    opts: KubeClientOptions,
  ) {
    this.logger = opts.logger;
    this.retryOpts = opts.retry ?? {};
    this.userAgent = opts.userAgent ?? 'commit-to-cloud';
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.namespace = connection.namespace || 'default';
    this.creds = {
      ...(connection.token ? { token: connection.token } : {}),
      ...(connection.cert ? { cert: connection.cert } : {}),
      ...(connection.key ? { key: connection.key } : {}),
      ...(connection.expiresAt ? { expiresAt: connection.expiresAt } : {}),
    };
    if (connection.token) this.logger.secret(connection.token);
    if (connection.key) this.logger.secret(connection.key);
  }

  // ---------------------------------------------------------------- discovery

  /** The server's version (/version): also a cheap reachability check. */
  async version(): Promise<{ major?: string; minor?: string; gitVersion?: string }> {
    return (await this.requestJson('GET', '/version', { verb: 'get', target: 'the server version' })) as {
      gitVersion?: string;
    };
  }

  /** Who these credentials are, as the server sees them (SelfSubjectReview, Kubernetes 1.28+). */
  async whoAmI(): Promise<{ username: string; groups: string[] }> {
    const review = (await this.requestJson('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      verb: 'create',
      target: 'selfsubjectreviews.authentication.k8s.io',
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }),
      contentType: CONTENT_JSON,
    })) as { status?: { userInfo?: { username?: string; groups?: string[] } } };
    const user = review.status?.userInfo;
    if (!user?.username)
      throw new C2CError('The API server did not say who these credentials are (SelfSubjectReview)');
    return { username: user.username, groups: user.groups ?? [] };
  }

  /** What these credentials may do in a namespace, as the authorizer sees it now (SelfSubjectRulesReview). */
  async rulesIn(namespace: string): Promise<{
    resourceRules: { verbs: string[]; apiGroups?: string[]; resources?: string[] }[];
    incomplete: boolean;
  }> {
    const review = (await this.requestJson('POST', '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', {
      verb: 'create',
      target: 'selfsubjectrulesreviews.authorization.k8s.io',
      body: JSON.stringify({
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectRulesReview',
        spec: { namespace },
      }),
      contentType: CONTENT_JSON,
    })) as {
      status?: {
        resourceRules?: { verbs: string[]; apiGroups?: string[]; resources?: string[] }[];
        incomplete?: boolean;
      };
    };
    return { resourceRules: review.status?.resourceRules ?? [], incomplete: !!review.status?.incomplete };
  }

  /**
   * Whether these credentials may do one thing, as the authorizer decides it now
   * (SelfSubjectAccessReview): a verb on a resource (`pods/log`: a subresource), in a namespace or
   * cluster-wide.
   */
  async mayI(a: { verb: string; group: string; resource: string; namespace?: string }): Promise<boolean> {
    const slash = a.resource.indexOf('/');
    const review = (await this.requestJson('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      verb: 'create',
      target: 'selfsubjectaccessreviews.authorization.k8s.io',
      body: JSON.stringify({
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: {
          resourceAttributes: {
            verb: a.verb,
            group: a.group,
            ...(slash < 0
              ? { resource: a.resource }
              : { resource: a.resource.slice(0, slash), subresource: a.resource.slice(slash + 1) }),
            ...(a.namespace ? { namespace: a.namespace } : {}),
          },
        },
      }),
      contentType: CONTENT_JSON,
    })) as { status?: { allowed?: boolean } };
    return review.status?.allowed === true;
  }

  /**
   * Resolves kind + apiVersion to its resource path (cached per group-version: one request per
   * group-version for the client's lifetime). Throws KindNotServedError for a kind the cluster does
   * not serve.
   */
  async resource(apiVersion: string, kind: string): Promise<ResourceInfo> {
    let p = this.groupVersions.get(apiVersion);
    if (!p) {
      p = this.fetchGroupVersion(apiVersion);
      this.groupVersions.set(apiVersion, p);
      p.catch(() => this.groupVersions.delete(apiVersion));
    }
    const list = await p;
    if (!list)
      throw new KindNotServedError(apiVersion, kind, `the API group-version '${apiVersion}' is not served`);
    const info = list.find((r) => r.kind === kind);
    if (!info) {
      const kinds = [...new Set(list.map((r) => r.kind))].sort();
      throw new KindNotServedError(
        apiVersion,
        kind,
        `'${apiVersion}' serves ${kinds.length ? kinds.join(', ') : 'no kinds'}`,
      );
    }
    return info;
  }

  /**
   * Every group-version the server serves (`v1`, `apps/v1`, …), from discovery (/api and /apis):
   * what Helm's `--api-versions` takes.
   */
  async apiVersions(): Promise<string[]> {
    const core = JSON.parse(
      (await this.send('GET', '/api', { verb: 'discover', target: 'the core API' })).body.toString('utf8'),
    ) as { versions?: string[] };
    const groups = JSON.parse(
      (await this.send('GET', '/apis', { verb: 'discover', target: 'the API groups' })).body.toString('utf8'),
    ) as { groups?: { versions?: { groupVersion: string }[] }[] };
    return [
      ...(core.versions ?? []),
      ...(groups.groups ?? []).flatMap((g) => (g.versions ?? []).map((v) => v.groupVersion)),
    ];
  }

  private async fetchGroupVersion(apiVersion: string): Promise<ResourceInfo[] | null> {
    const { group, version } = splitApiVersion(apiVersion);
    const path = group ? `/apis/${group}/${version}` : `/api/${version}`;
    const res = await this.send('GET', path, { verb: 'discover', target: apiVersion, accept: [404] });
    if (res.status === 404) return null;
    const body = JSON.parse(res.body.toString('utf8')) as {
      resources?: { name: string; kind: string; namespaced: boolean; verbs?: string[] }[];
    };
    return (body.resources ?? [])
      .filter((r) => !r.name.includes('/'))
      .map((r) => ({
        apiVersion,
        group,
        version,
        kind: r.kind,
        resource: r.name,
        namespaced: r.namespaced,
        verbs: r.verbs ?? [],
      }));
  }

  /** The collection path of a resource (namespace ignored for cluster-scoped kinds). */
  collectionPath(info: ResourceInfo, namespace?: string): string {
    const base = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
    return info.namespaced && namespace
      ? `${base}/namespaces/${encodeURIComponent(namespace)}/${info.resource}`
      : `${base}/${info.resource}`;
  }

  private async objectPath(
    ref: ObjectRef,
    defaultNs?: string,
  ): Promise<{ info: ResourceInfo; path: string; ns?: string }> {
    const info = await this.resource(ref.apiVersion, ref.kind);
    const ns = info.namespaced ? (ref.namespace ?? defaultNs ?? this.namespace) : undefined;
    return { info, ns, path: `${this.collectionPath(info, ns)}/${encodeURIComponent(ref.name)}` };
  }

  // ---------------------------------------------------------------- reads

  /** The object, or undefined when it does not exist. */
  async get<T extends KubeObject = KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    const { info, path, ns } = await this.objectPath(ref);
    const res = await this.send('GET', path, {
      verb: 'get',
      target: describe(info, ref.name, ns),
      accept: [404],
    });
    if (res.status === 404) return undefined;
    return parseJson(res) as T;
  }

  async list<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    opts: ListOptions = {},
  ): Promise<KubeList<T>> {
    const info = await this.resource(apiVersion, kind);
    const q = new URLSearchParams();
    if (opts.labelSelector) q.set('labelSelector', opts.labelSelector);
    if (opts.fieldSelector) q.set('fieldSelector', opts.fieldSelector);
    if (opts.limit) q.set('limit', String(opts.limit));
    const ns = info.namespaced ? opts.namespace : undefined;
    const path = this.collectionPath(info, ns) + (q.size ? `?${q}` : '');
    const list = (await this.requestJson('GET', path, {
      verb: 'list',
      target: describe(info, undefined, ns),
    })) as KubeList<T>;
    // Lists omit apiVersion/kind on items; put them back so callers can treat items as objects.
    for (const it of list.items ?? []) {
      it.apiVersion ??= apiVersion;
      it.kind ??= kind;
    }
    list.items ??= [];
    return list;
  }

  // ---------------------------------------------------------------- writes

  /**
   * Server-side apply (PATCH application/apply-patch+yaml): creates or merges, owned by the field
   * manager. A conflict with another manager throws KubeConflictError unless force is set.
   */
  async apply<T extends KubeObject = KubeObject>(obj: KubeObject, opts: ApplyOptions = {}): Promise<T> {
    const name = obj.metadata?.name;
    if (!name) throw new C2CError(`Cannot apply a ${obj.kind} without metadata.name`);
    const info = await this.resource(obj.apiVersion, obj.kind);
    let body = obj;
    let ns: string | undefined;
    if (info.namespaced) {
      ns = obj.metadata.namespace ?? opts.namespace ?? this.namespace;
      if (obj.metadata.namespace !== ns) body = { ...obj, metadata: { ...obj.metadata, namespace: ns } };
    }
    const q = new URLSearchParams({ fieldManager: opts.fieldManager ?? FIELD_MANAGER });
    if (opts.force) q.set('force', 'true');
    if (opts.dryRun) q.set('dryRun', 'All');
    const path = `${this.collectionPath(info, ns)}/${encodeURIComponent(name)}?${q}`;
    return (await this.requestJson('PATCH', path, {
      verb: opts.dryRun ? 'apply (dry run)' : 'apply',
      rbacVerb: 'patch',
      target: describe(info, name, ns),
      body: JSON.stringify(body),
      contentType: 'application/apply-patch+yaml',
    })) as T;
  }

  /**
   * Creates an object (POST) only when it does not exist: undefined when the name is taken (409
   * AlreadyExists), so a caller never takes over an object it did not make.
   */
  async create<T extends KubeObject = KubeObject>(
    obj: KubeObject,
    opts: { fieldManager?: string } = {},
  ): Promise<T | undefined> {
    const info = await this.resource(obj.apiVersion, obj.kind);
    const ns = info.namespaced ? (obj.metadata.namespace ?? this.namespace) : undefined;
    const body = info.namespaced ? { ...obj, metadata: { ...obj.metadata, namespace: ns } } : obj;
    const q = new URLSearchParams({ fieldManager: opts.fieldManager ?? FIELD_MANAGER });
    const res = await this.send('POST', `${this.collectionPath(info, ns)}?${q}`, {
      verb: 'create',
      target: describe(info, obj.metadata.name, ns),
      body: JSON.stringify(body),
      contentType: 'application/json',
      accept: [409],
    });
    if (res.status === 409) return undefined;
    return parseJson(res) as T;
  }

  async patch<T extends KubeObject = KubeObject>(
    ref: ObjectRef,
    patch: unknown,
    type: PatchType,
    opts: PatchOptions = {},
  ): Promise<T> {
    const { info, path, ns } = await this.objectPath(ref);
    const q = new URLSearchParams();
    if (opts.fieldManager) q.set('fieldManager', opts.fieldManager);
    if (opts.dryRun) q.set('dryRun', 'All');
    return (await this.requestJson('PATCH', path + (q.size ? `?${q}` : ''), {
      verb: 'patch',
      target: describe(info, ref.name, ns),
      body: JSON.stringify(patch),
      contentType: PATCH_TYPES[type],
    })) as T;
  }

  /** Deletes an object; false when it did not exist. */
  async delete(ref: ObjectRef, opts: DeleteOptions = {}): Promise<boolean> {
    const { info, path, ns } = await this.objectPath(ref);
    const q = new URLSearchParams();
    if (opts.dryRun) q.set('dryRun', 'All');
    const res = await this.send('DELETE', path + (q.size ? `?${q}` : ''), {
      verb: 'delete',
      target: describe(info, ref.name, ns),
      accept: [404],
      body: JSON.stringify({
        kind: 'DeleteOptions',
        apiVersion: 'v1',
        ...(opts.propagationPolicy ? { propagationPolicy: opts.propagationPolicy } : {}),
      }),
      contentType: CONTENT_JSON,
    });
    return res.status !== 404;
  }

  // ---------------------------------------------------------------- watch

  /**
   * Follows a collection: yields ADDED / MODIFIED / DELETED / BOOKMARK events. One watch request per
   * call (so watch a kind per namespace, not each object). When the server closes the stream it is
   * reopened from the last resourceVersion seen; when that version has expired (410 Gone) the
   * collection is listed again and the difference yielded (MODIFIED for what is there, DELETED for
   * what vanished). Ends when opts.signal aborts or the consumer stops iterating.
   */
  async *watch<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    opts: WatchOptions = {},
  ): AsyncGenerator<WatchEvent<T>> {
    const info = await this.resource(apiVersion, kind);
    const ns = info.namespaced ? opts.namespace : undefined;
    const known = new Map<string, T>();
    const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
    let rv = opts.resourceVersion;
    const relist = async function* (this: KubeClient, initial: boolean): AsyncGenerator<WatchEvent<T>> {
      const list = await this.list<T>(apiVersion, kind, opts);
      const seen = new Set<string>();
      for (const item of list.items) {
        seen.add(keyOf(item));
        const type = initial || !known.has(keyOf(item)) ? 'ADDED' : 'MODIFIED';
        known.set(keyOf(item), item);
        yield { type, object: item };
      }
      for (const [k, o] of [...known]) {
        if (!seen.has(k)) {
          known.delete(k);
          yield { type: 'DELETED', object: o };
        }
      }
      rv = list.metadata.resourceVersion;
    }.bind(this);

    if (rv === undefined) yield* relist(true);
    let failures = 0;
    while (!opts.signal?.aborted) {
      const q = new URLSearchParams({ watch: '1', allowWatchBookmarks: 'true' });
      if (rv) q.set('resourceVersion', rv);
      q.set('timeoutSeconds', String(opts.timeoutSeconds ?? 290));
      if (opts.labelSelector) q.set('labelSelector', opts.labelSelector);
      if (opts.fieldSelector) q.set('fieldSelector', opts.fieldSelector);
      const path = `${this.collectionPath(info, ns)}?${q}`;
      let stream: IncomingMessage;
      try {
        stream = await this.openStream(
          path,
          { verb: 'watch', target: describe(info, undefined, ns) },
          opts.signal,
        );
      } catch (err) {
        if (opts.signal?.aborted) return;
        if (err instanceof KubeApiError && err.status === 410) {
          opts.onReconnect?.('expired', rv);
          yield* relist(false);
          continue;
        }
        throw err;
      }
      let expired = false;
      let gotEvent = false;
      try {
        for await (const line of jsonLines(stream)) {
          const ev = JSON.parse(line) as WatchEvent<T>;
          gotEvent = true;
          if (ev.type === 'ERROR') {
            const st = ev.object as unknown as KubeStatus;
            if (st.code === 410 || st.reason === 'Expired' || st.reason === 'Gone') {
              expired = true;
              break;
            }
            throw new KubeApiError(st.code ?? 500, 'watch', describe(info, undefined, ns), st);
          }
          const newRv = ev.object?.metadata?.resourceVersion;
          if (newRv) rv = newRv;
          if (ev.type === 'BOOKMARK') {
            yield ev;
            continue;
          }
          if (ev.type === 'DELETED') known.delete(keyOf(ev.object));
          else known.set(keyOf(ev.object), ev.object);
          yield ev;
        }
      } catch (err) {
        if (opts.signal?.aborted) return;
        if (err instanceof KubeApiError) throw err;
        // A dropped stream: reopen from the last version seen, with bounded patience.
        if (++failures > (this.retryOpts.attempts ?? 5) * 2) throw err;
        this.logger.debug(
          `watch ${describe(info, undefined, ns)}: stream failed (${(err as Error).message}); reopening`,
        );
        opts.onReconnect?.('error', rv);
        await sleep(Math.min(2000, 100 * failures));
        continue;
      } finally {
        stream.destroy();
      }
      if (gotEvent) failures = 0;
      if (expired) {
        opts.onReconnect?.('expired', rv);
        yield* relist(false);
        continue;
      }
      if (opts.signal?.aborted) return;
      opts.onReconnect?.('closed', rv);
    }
  }

  // ---------------------------------------------------------------- pods and events

  /** The last lines of a pod's container log ('' when there are none). */
  async podLogs(namespace: string, pod: string, opts: LogOptions = {}): Promise<string> {
    const q = new URLSearchParams();
    if (opts.container) q.set('container', opts.container);
    if (opts.tailLines !== undefined) q.set('tailLines', String(opts.tailLines));
    if (opts.previous) q.set('previous', 'true');
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log${q.size ? `?${q}` : ''}`;
    const res = await this.send('GET', path, {
      verb: 'get',
      target: `pods/log "${pod}" in namespace "${namespace}"`,
      accept: [400, 404],
      acceptHeader: 'text/plain, */*',
    });
    if (res.status !== 200) return '';
    return res.body.toString('utf8');
  }

  /** Events about one object (core/v1 events, by involvedObject), oldest first. */
  async eventsFor(obj: {
    kind: string;
    metadata: { name?: string; namespace?: string; uid?: string };
  }): Promise<KubeEvent[]> {
    const sel = [`involvedObject.kind=${obj.kind}`, `involvedObject.name=${obj.metadata.name ?? ''}`];
    if (obj.metadata.uid) sel.push(`involvedObject.uid=${obj.metadata.uid}`);
    const list = await this.list<KubeEvent>('v1', 'Event', {
      namespace: obj.metadata.namespace ?? this.namespace,
      fieldSelector: sel.join(','),
    });
    const t = (e: KubeEvent) => e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? '';
    return list.items.sort((a, b) => t(a).localeCompare(t(b)));
  }

  // ---------------------------------------------------------------- transport

  private async credentials(force = false): Promise<Credentials> {
    const refresh = this.connection.refresh;
    const stale =
      !this.creds.token && !this.creds.cert
        ? true
        : this.creds.expiresAt !== undefined && this.creds.expiresAt.getTime() - 30_000 < Date.now();
    if (refresh && (force || stale)) {
      this.creds = await refresh();
      if (this.creds.token) this.logger.secret(this.creds.token);
      if (this.creds.key) this.logger.secret(this.creds.key);
    }
    return this.creds;
  }

  private async httpRequest(
    method: string,
    path: string,
    extra: Partial<HttpRequest>,
    forceRefresh = false,
  ): Promise<HttpRequest> {
    const c = await this.credentials(forceRefresh);
    const headers: Record<string, string | undefined> = {
      'user-agent': this.userAgent,
      accept: CONTENT_JSON,
      ...(extra.headers ?? {}),
    };
    if (c.token) headers.authorization = `Bearer ${c.token}`;
    return {
      ...extra,
      method,
      url: this.connection.server + path,
      headers,
      timeoutMs: extra.timeoutMs ?? this.timeoutMs,
      ...(this.connection.ca ? { ca: this.connection.ca } : {}),
      ...(c.cert ? { cert: c.cert } : {}),
      ...(c.key ? { key: c.key } : {}),
      ...(this.connection.insecureSkipVerify ? { insecureSkipVerify: true } : {}),
      ...(this.connection.tlsServerName ? { servername: this.connection.tlsServerName } : {}),
    };
  }

  /** One request through the retry helper; non-accepted statuses become KubeApiErrors. */
  private async send(
    method: string,
    path: string,
    o: {
      verb: string;
      target: string;
      rbacVerb?: string;
      accept?: number[];
      body?: string;
      contentType?: string;
      acceptHeader?: string;
    },
  ): Promise<HttpResponse> {
    let refreshed = false;
    return retry(
      `${o.verb} ${o.target}`,
      async () => {
        this.requestCount++;
        const req = await this.httpRequest(method, path, {
          headers: {
            ...(o.contentType ? { 'content-type': o.contentType } : {}),
            ...(o.acceptHeader ? { accept: o.acceptHeader } : {}),
          },
          ...(o.body !== undefined ? { body: o.body } : {}),
        });
        const res = await request(req);
        if (res.status === 401 && this.connection.refresh && !refreshed) {
          refreshed = true;
          await this.credentials(true);
          throw Object.assign(new C2CError('401, credentials refreshed'), { transient: true });
        }
        if ((res.status >= 200 && res.status < 300) || o.accept?.includes(res.status)) return res;
        throw this.apiError(res.status, res.headers['retry-after'], res.body.toString('utf8'), o);
      },
      {
        ...this.retryOpts,
        retryable: (err) => (err instanceof KubeApiError ? err.transient : isTransient(err)),
        onRetry: (err, attempt, delay) =>
          this.logger.debug(
            `${o.verb} ${o.target}: attempt ${attempt} failed (${(err as Error).message}); retrying in ${delay} ms`,
          ),
      },
    );
  }

  private async requestJson(
    method: string,
    path: string,
    o: Parameters<KubeClient['send']>[2],
  ): Promise<unknown> {
    return parseJson(await this.send(method, path, o));
  }

  private async openStream(
    path: string,
    o: { verb: string; target: string },
    signal?: AbortSignal,
  ): Promise<IncomingMessage> {
    return retry(
      `${o.verb} ${o.target}`,
      async () => {
        this.requestCount++;
        // A watch may stay quiet for long: no socket timeout beyond the server's timeoutSeconds.
        const req = await this.httpRequest('GET', path, {
          timeoutMs: 330_000,
          ...(signal ? { signal } : {}),
        });
        const res = await requestStream(req);
        if (res.status >= 200 && res.status < 300) return res.stream;
        const chunks: Buffer[] = [];
        for await (const c of res.stream) chunks.push(c as Buffer);
        throw this.apiError(
          res.status,
          res.headers['retry-after'],
          Buffer.concat(chunks).toString('utf8'),
          o,
        );
      },
      {
        ...this.retryOpts,
        retryable: (err) =>
          !signal?.aborted && (err instanceof KubeApiError ? err.transient : isTransient(err)),
      },
    );
  }

  private apiError(
    status: number,
    retryAfter: string | string[] | undefined,
    text: string,
    o: { verb: string; target: string; rbacVerb?: string },
  ): KubeApiError {
    let st: KubeStatus | undefined;
    try {
      const parsed = JSON.parse(text) as KubeStatus;
      if (parsed && parsed.kind === 'Status') st = parsed;
    } catch {
      /* not JSON */
    }
    if (status === 403) return new KubeForbiddenError(status, o.rbacVerb ?? o.verb, o.target, st);
    if (status === 409) return new KubeConflictError(status, o.verb, o.target, st);
    const ra =
      parseRetryAfter(retryAfter) ??
      (st?.details?.retryAfterSeconds !== undefined ? st.details.retryAfterSeconds * 1000 : undefined);
    return new KubeApiError(
      status,
      o.verb,
      o.target,
      st,
      st
        ? undefined
        : `Kubernetes API: ${o.verb} ${o.target} failed: HTTP ${status}${text.trim() ? `: ${text.trim().slice(0, 300)}` : ''}`,
      ra,
    );
  }
}

function describe(info: ResourceInfo, name?: string, ns?: string): string {
  const res = info.group ? `${info.resource}.${info.group}` : info.resource;
  return `${res}${name ? ` "${name}"` : ''}${ns ? ` in namespace "${ns}"` : info.namespaced ? ' in all namespaces' : ''}`;
}

function parseJson(res: HttpResponse): unknown {
  const text = res.body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new C2CError(`Kubernetes API: ${res.url}: expected JSON, got: ${text.slice(0, 200)}`);
  }
}

async function* jsonLines(stream: IncomingMessage): AsyncGenerator<string> {
  let buf = '';
  stream.setEncoding('utf8');
  for await (const chunk of stream) {
    buf += chunk as string;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line) yield line;
    }
  }
  if (buf.trim()) yield buf.trim();
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
