export const id = 710;
export const ids = [710];
export const modules = {

/***/ 76762:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   LD: () => (/* binding */ awsErrorOf),
/* harmony export */   Sc: () => (/* binding */ isTransientAwsError),
/* harmony export */   lj: () => (/* binding */ isAwsCredentialError)
/* harmony export */ });
/* harmony import */ var _core_index_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7493);

const THROTTLING = new Set([
    'ThrottlingException',
    'Throttling',
    'TooManyRequestsException',
    'RequestLimitExceeded',
    'ServiceUnavailable',
    'ServerException',
    'RequestTimeout',
    'RequestTimeoutException',
]);
/** Refusals for want of capacity or a limit: another type, zone or time is the remedy, not a retry. */
const NOT_NOW = new Set(['InsufficientInstanceCapacity', 'InstanceLimitExceeded', 'VcpuLimitExceeded']);
const CREDENTIAL_ERRORS = new Set([
    'UnrecognizedClientException',
    'InvalidSignatureException',
    'ExpiredTokenException',
    'InvalidClientTokenId',
    'SignatureDoesNotMatch',
    'AccessDenied',
    'AccessDeniedException',
    'AuthFailure',
]);
/** Transient AWS failures: throttling, 5xx, network errors. The SDK's own retries are off; ours bound them. */
function isTransientAwsError(err) {
    const e = err;
    if (!e || typeof e !== 'object')
        return false;
    // EC2 answers these with a 5xx, but seconds later it is no different: said at once, not retried.
    if (e.name && NOT_NOW.has(e.name))
        return false;
    if (e.$retryable)
        return true;
    if (e.name && THROTTLING.has(e.name))
        return true;
    const status = e.$metadata?.httpStatusCode;
    if (typeof status === 'number' && status > 0)
        return status === 429 || (status >= 500 && status !== 501);
    return (0,_core_index_js__WEBPACK_IMPORTED_MODULE_0__/* .isTransient */ .dg)(err);
}
/** The AWS error behind a failure (the last attempt's, when the retry helper gave up). */
function awsErrorOf(err) {
    return (err instanceof _core_index_js__WEBPACK_IMPORTED_MODULE_0__/* .RetryExhaustedError */ .aB ? err.last : err);
}
/** AWS refused the credentials (invalid, expired, or not allowed to do this). */
function isAwsCredentialError(e) {
    return !!e?.name && CREDENTIAL_ERRORS.has(e.name);
}


/***/ }),

/***/ 7493:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   L5: () => (/* binding */ retry),
/* harmony export */   aB: () => (/* binding */ RetryExhaustedError),
/* harmony export */   dg: () => (/* binding */ isTransient),
/* harmony export */   mu: () => (/* binding */ parseRetryAfter)
/* harmony export */ });
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(3828);

const TRANSIENT_CODES = new Set([
    'ECONNREFUSED',
    'ECONNRESET',
    'ETIMEDOUT',
    'EPIPE',
    'EAI_AGAIN',
    'ENOTFOUND',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'UND_ERR_SOCKET',
    'UND_ERR_CONNECT_TIMEOUT',
]);
/** Network failures, 408, 429 and 5xx other than 501 are transient. */
function isTransient(err) {
    if (!err || typeof err !== 'object')
        return false;
    const e = err;
    if (typeof e.transient === 'boolean')
        return e.transient;
    if (typeof e.status === 'number')
        return e.status === 408 || e.status === 429 || (e.status >= 500 && e.status !== 501);
    if (e.code && TRANSIENT_CODES.has(e.code))
        return true;
    if (e.message && /socket hang up|ECONNRESET|timed out/i.test(e.message))
        return true;
    return e.cause ? isTransient(e.cause) : false;
}
/** Parses a Retry-After header (seconds or an HTTP date) into milliseconds. */
function parseRetryAfter(value, now = Date.now()) {
    const v = Array.isArray(value) ? value[0] : value;
    if (!v)
        return undefined;
    if (/^\d+(\.\d+)?$/.test(v.trim()))
        return Math.round(Number(v) * 1000);
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}
class RetryExhaustedError extends _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .C2CError */ .n$ {
    attempts;
    last;
    name = 'RetryExhaustedError';
    constructor(what, attempts, elapsedMs, last) {
        super(`${what} failed after ${attempts} attempt${attempts === 1 ? '' : 's'} in ${(elapsedMs / 1000).toFixed(1)}s: ${(0,_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .errorMessage */ .gJ)(last)}`, {
            cause: last,
        });
        this.attempts = attempts;
        this.last = last;
    }
}
const realSleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function retry(what, fn, opts = {}) {
    const attempts = opts.attempts ?? 5;
    const base = opts.baseDelayMs ?? 250;
    const cap = opts.maxDelayMs ?? 10_000;
    const deadline = opts.deadlineMs ?? 60_000;
    const retryable = opts.retryable ?? isTransient;
    const sleep = opts.sleep ?? realSleep;
    const random = opts.random ?? Math.random;
    const start = Date.now();
    for (let attempt = 1;; attempt++) {
        try {
            return await fn(attempt);
        }
        catch (err) {
            const elapsed = Date.now() - start;
            // A permanent failure (401, 404, bad input) is the caller's to explain: passed on as it is.
            if (!retryable(err))
                throw err;
            const retryAfter = err?.retryAfterMs;
            const backoff = Math.min(cap, base * 2 ** (attempt - 1));
            const delay = Math.min(cap, retryAfter !== undefined ? retryAfter : Math.round(random() * backoff));
            if (attempt >= attempts || elapsed + delay > deadline)
                throw new RetryExhaustedError(what, attempt, elapsed, err);
            opts.onRetry?.(err, attempt, delay);
            await sleep(delay);
        }
    }
}


/***/ }),

/***/ 22710:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  gm: () => (/* binding */ connectRegistry),
  ol: () => (/* binding */ digestOf),
  $0: () => (/* binding */ ensureCacheRepository),
  IX: () => (/* binding */ nextLink),
  vw: () => (/* binding */ pickPlatform),
  Ye: () => (/* binding */ tagHolding)
});

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(77598);
// EXTERNAL MODULE: ./lib/core/agents.js
var agents = __webpack_require__(27257);
// EXTERNAL MODULE: ./lib/core/errors.js
var errors = __webpack_require__(3828);
// EXTERNAL MODULE: ./lib/core/retry.js
var core_retry = __webpack_require__(7493);
;// CONCATENATED MODULE: ./lib/core/http.js



class HttpError extends errors/* C2CError */.n$ {
    status;
    method;
    url;
    body;
    name = 'HttpError';
    retryAfterMs;
    constructor(status, method, url, body, headers = {}, what) {
        const detail = body.trim().slice(0, 300);
        super(`${what ?? `${method} ${redactUrl(url)}`}: HTTP ${status}${detail ? `: ${detail}` : ''}`);
        this.status = status;
        this.method = method;
        this.url = url;
        this.body = body;
        const ra = (0,core_retry/* parseRetryAfter */.mu)(headers['retry-after']);
        if (ra !== undefined)
            this.retryAfterMs = ra;
    }
}
/** Drops credentials and query strings from a URL before it is printed. */
function redactUrl(url) {
    try {
        const u = new URL(String(url));
        u.username = '';
        u.password = '';
        u.search = '';
        return u.toString();
    }
    catch {
        return '<url>';
    }
}
const http_agents = new Map();
// node:http and node:https load on first use (process.getBuiltinModule), each only for its scheme: a step
// that talks to one plain-HTTP registry does not compile TLS, and one that talks to none loads neither.
function agentFor(u, tls) {
    const key = `${u.protocol}|${tls.insecureSkipVerify ? 'k' : ''}|${tls.servername ?? ''}|${String(tls.ca ?? '')}|${String(tls.cert ?? '')}`;
    let a = http_agents.get(key);
    if (!a) {
        a =
            u.protocol === 'https:'
                ? new (process.getBuiltinModule('node:https').Agent)({
                    keepAlive: true,
                    maxSockets: 16,
                    ...(tls.ca ? { ca: tls.ca } : {}),
                    ...(tls.cert ? { cert: tls.cert } : {}),
                    ...(tls.key ? { key: tls.key } : {}),
                    ...(tls.servername ? { servername: tls.servername } : {}),
                    rejectUnauthorized: !tls.insecureSkipVerify,
                })
                : new (process.getBuiltinModule('node:http').Agent)({ keepAlive: true, maxSockets: 16 });
        http_agents.set(key, a);
    }
    return a;
}
(0,agents/* onCloseHttpAgents */.e)(() => {
    for (const a of http_agents.values())
        a.destroy();
    http_agents.clear();
});

function send(req) {
    const u = new URL(String(req.url));
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
        throw new errors/* C2CError */.n$(`Unsupported URL scheme in ${redactUrl(u)}`);
    const mod = u.protocol === 'https:' ? process.getBuiltinModule('node:https') : process.getBuiltinModule('node:http');
    const headers = {};
    for (const [k, v] of Object.entries(req.headers ?? {}))
        if (v !== undefined)
            headers[k] = v;
    if (req.body !== undefined &&
        headers['content-length'] === undefined &&
        headers['Content-Length'] === undefined)
        headers['content-length'] = String(Buffer.byteLength(req.body));
    return new Promise((resolve, reject) => {
        const r = mod.request(u, {
            method: req.method ?? 'GET',
            headers,
            agent: agentFor(u, req),
            ...(req.signal ? { signal: req.signal } : {}),
        }, resolve);
        r.setTimeout(req.timeoutMs ?? 30_000, () => r.destroy(Object.assign(new Error(`timed out after ${req.timeoutMs ?? 30_000} ms`), { code: 'ETIMEDOUT' })));
        r.on('error', reject);
        if (req.body !== undefined)
            r.end(req.body);
        else
            r.end();
    });
}
/** One attempt; any status resolves. Network errors reject. */
async function request(req) {
    const res = await send(req);
    const chunks = [];
    for await (const c of res)
        chunks.push(c);
    return {
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: Buffer.concat(chunks),
        url: String(req.url),
    };
}
/** One attempt, the body left as a stream (watches, logs). */
async function requestStream(req) {
    const res = await send(req);
    return { status: res.statusCode ?? 0, headers: res.headers, stream: res };
}
/** request() through the retry helper: transient failures retried, other non-accepted statuses thrown as HttpError. */
async function fetchWithRetry(req, opts = {}) {
    const method = req.method ?? 'GET';
    const what = opts.what ?? `${method} ${redactUrl(req.url)}`;
    return (0,core_retry/* retry */.L5)(what, async () => {
        const res = await request(req);
        if ((res.status >= 200 && res.status < 300) || opts.accept?.includes(res.status))
            return res;
        throw new HttpError(res.status, method, String(req.url), res.body.toString('utf8'), res.headers, what);
    }, {
        ...opts.retry,
        onRetry: (err, attempt, delay) => {
            opts.logger?.debug(`${what}: attempt ${attempt} failed (${err.message}); retrying in ${delay} ms`);
            opts.retry?.onRetry?.(err, attempt, delay);
        },
    });
}

// EXTERNAL MODULE: ./lib/images/reference.js
var reference = __webpack_require__(41403);
// EXTERNAL MODULE: ./lib/registry/errors.js
var registry_errors = __webpack_require__(50228);
// EXTERNAL MODULE: ./lib/registry/www-authenticate.js
var www_authenticate = __webpack_require__(31844);
;// CONCATENATED MODULE: ./lib/registry/auth.js




/** Seconds of validity assumed when a token server does not say (the spec's default). */
const DEFAULT_TOKEN_SECONDS = 60;
/**
 * Authentication against one registry: the challenge it answered to GET /v2/ (or to any later request),
 * basic credentials, and the bearer-token flow with tokens cached per scope set.
 */
class Authenticator {
    registry;
    creds;
    logger;
    retryOpts;
    tls;
    challenge;
    tokens = [];
    pending = new Map();
    constructor(registry, creds, logger, retryOpts, tls = {}) {
        this.registry = registry;
        this.creds = creds;
        this.logger = logger;
        this.retryOpts = retryOpts;
        this.tls = tls;
    }
    get used() {
        return this.creds
            ? { username: this.creds.username, source: this.creds.source }
            : { source: 'anonymous' };
    }
    get scheme() {
        return this.challenge?.scheme;
    }
    /** Learns the registry's challenge from a 401 (from the ping or any request). */
    learn(res) {
        const all = (0,www_authenticate/* parseWwwAuthenticate */.qd)(res.headers['www-authenticate']);
        const ch = all.find((c) => c.scheme === 'bearer') ?? all.find((c) => c.scheme === 'basic');
        if (ch)
            this.challenge = ch;
        return ch;
    }
    /** The Authorization header for a request needing these scopes; undefined: send none. */
    async header(scopes) {
        const ch = this.challenge;
        if (!ch)
            return undefined;
        if (ch.scheme === 'basic')
            return this.basic();
        if (ch.scheme === 'bearer')
            return `Bearer ${(await this.token(ch, scopes)).token}`;
        return undefined;
    }
    /**
     * After a 401: decides whether one more attempt may succeed and with which scopes. Anonymous requests
     * retry once the challenge is known; bearer requests retry with a fresh token (the cached one may have
     * expired, or the registry asks for a scope of its own). Basic credentials that were refused are final.
     */
    retryAfter401(res, scopes, sent) {
        const ch = this.learn(res);
        if (!ch)
            return undefined;
        if (ch.scheme === 'basic')
            return sent === undefined && this.creds ? scopes : undefined;
        if (ch.scheme !== 'bearer')
            return undefined;
        const wanted = (0,www_authenticate/* normaliseScopes */.YZ)([...scopes, ...(ch.params.scope ? [ch.params.scope] : [])]);
        // Forget the tokens that were just refused.
        for (let i = this.tokens.length - 1; i >= 0; i--)
            if ((0,www_authenticate/* scopesCover */.Bn)(this.tokens[i].scopes, scopes))
                this.tokens.splice(i, 1);
        return wanted;
    }
    /** The error for a final 401/403: who, from where, for what; never the secret. */
    error(status, scopes, detail) {
        return new registry_errors/* RegistryAuthError */.w4(this.registry, status, this.used, scopes.join(' '), detail);
    }
    basic() {
        if (!this.creds)
            return undefined;
        const encoded = Buffer.from(`${this.creds.username}:${this.creds.password}`).toString('base64');
        this.logger.secret(encoded);
        return `Basic ${encoded}`;
    }
    async token(ch, wanted) {
        const scopes = (0,www_authenticate/* normaliseScopes */.YZ)(wanted);
        const now = Date.now();
        for (let i = this.tokens.length - 1; i >= 0; i--)
            if (this.tokens[i].expiresAt <= now)
                this.tokens.splice(i, 1);
        const hit = this.tokens.find((t) => (0,www_authenticate/* scopesCover */.Bn)(t.scopes, scopes));
        if (hit)
            return hit;
        const key = scopes.join(' ');
        let p = this.pending.get(key);
        if (!p) {
            p = this.fetchToken(ch, scopes).finally(() => this.pending.delete(key));
            this.pending.set(key, p);
        }
        return p;
    }
    async fetchToken(ch, scopes) {
        const realm = ch.params.realm;
        if (!realm)
            throw new registry_errors/* RegistryError */.gl(`Registry ${this.registry} asked for a bearer token but named no realm`);
        let url;
        try {
            url = new URL(realm);
        }
        catch {
            throw new registry_errors/* RegistryError */.gl(`Registry ${this.registry} named an invalid token realm '${realm}'`);
        }
        if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (0,reference/* isLoopbackHost */.cW)(url.host)))
            throw new registry_errors/* RegistryError */.gl(`Registry ${this.registry} named the token realm ${url.origin}, which is not https: credentials are not sent over plain http`);
        if (ch.params.service)
            url.searchParams.set('service', ch.params.service);
        for (const s of scopes)
            url.searchParams.append('scope', s);
        if (this.creds)
            url.searchParams.set('account', this.creds.username);
        const authorization = this.basic();
        const started = Date.now();
        const res = await fetchWithRetry({
            url,
            headers: { ...(authorization ? { authorization } : {}), accept: 'application/json' },
            ...this.tls,
        }, {
            accept: [401, 403],
            logger: this.logger,
            what: `token request to ${url.origin}${url.pathname} for ${this.registry}`,
            ...(this.retryOpts ? { retry: this.retryOpts } : {}),
        });
        if (res.status === 401 || res.status === 403)
            throw this.error(res.status, scopes, `token server ${url.origin}${url.pathname}: ${tokenErrorDetail(res.body)}`);
        let json;
        try {
            json = JSON.parse(res.body.toString('utf8'));
        }
        catch {
            throw new registry_errors/* RegistryError */.gl(`Token server ${url.origin}${url.pathname} for ${this.registry} did not answer JSON`);
        }
        const token = json.token || json.access_token;
        if (!token)
            throw new registry_errors/* RegistryError */.gl(`Token server ${url.origin}${url.pathname} for ${this.registry} returned no token`);
        this.logger.secret(token);
        const seconds = typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : DEFAULT_TOKEN_SECONDS;
        // Renew a little early: the token must still be valid when the request arrives.
        const cached = {
            token,
            scopes,
            expiresAt: started + Math.max(1, seconds - Math.min(10, seconds / 4)) * 1000,
        };
        this.tokens.push(cached);
        this.logger.debug(`${this.registry}: bearer token for ${scopes.join(' ') || '(no scope)'}`);
        return cached;
    }
}
function tokenErrorDetail(body) {
    const text = body.toString('utf8');
    try {
        const j = JSON.parse(text);
        if (j.errors?.[0])
            return [j.errors[0].code, j.errors[0].message].filter(Boolean).join(': ');
        return j.details ?? j.message ?? text.trim().slice(0, 200);
    }
    catch {
        return text.trim().slice(0, 200);
    }
}

// EXTERNAL MODULE: ./lib/aws/errors.js
var aws_errors = __webpack_require__(76762);
;// CONCATENATED MODULE: ./lib/registry/ecr.js




function awsFailure(what, host, err) {
    const e = (0,aws_errors/* awsErrorOf */.LD)(err);
    if (e?.name === 'CredentialsProviderError')
        return new errors/* C2CError */.n$(`${what} for ${host}: no AWS credentials found by the default credential chain (environment AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, web identity, container or instance role). Configure AWS credentials before this step (e.g. aws-actions/configure-aws-credentials).`, { cause: err });
    if ((0,aws_errors/* isAwsCredentialError */.lj)(e))
        return new errors/* C2CError */.n$(`${what} for ${host}: AWS refused the credentials from the default credential chain (${e.name}: ${e.message ?? ''}). Check that they are valid and allow this action on the registry.`, { cause: err });
    if (err instanceof core_retry/* RetryExhaustedError */.aB)
        return new errors/* C2CError */.n$(`${what} for ${host} failed: ${err.message}`, { cause: err });
    return new errors/* C2CError */.n$(`${what} for ${host} failed: ${e?.name ? `${e.name}: ` : ''}${e?.message ?? String(err)}`, {
        cause: err,
    });
}
/**
 * GetAuthorizationToken with the default credential chain and the region of the host. The SDK honours
 * AWS_ENDPOINT_URL_ECR (and AWS_ENDPOINT_URL), which is how the tests point it at the loopback fake.
 */
async function ecrLogin(host, ecr, logger, retryOpts) {
    const sdk = await Promise.all(/* import() */[__webpack_require__.e(861), __webpack_require__.e(249)]).then(__webpack_require__.t.bind(__webpack_require__, 28249, 19));
    const client = new sdk.ECRClient({ region: ecr.region, maxAttempts: 1 });
    const call = async (what, fn) => {
        try {
            return await (0,core_retry/* retry */.L5)(what, fn, {
                ...retryOpts,
                retryable: aws_errors/* isTransientAwsError */.Sc,
                onRetry: (err, attempt, delay) => {
                    logger.debug(`${what}: attempt ${attempt} failed (${err.message}); retrying in ${delay} ms`);
                    retryOpts?.onRetry?.(err, attempt, delay);
                },
            });
        }
        catch (err) {
            throw awsFailure(what, host, err);
        }
    };
    const out = await call('ECR GetAuthorizationToken', () => client.send(new sdk.GetAuthorizationTokenCommand({})));
    const data = out.authorizationData?.[0];
    if (!data?.authorizationToken)
        throw new errors/* C2CError */.n$(`ECR GetAuthorizationToken for ${host} returned no authorization token`);
    logger.secret(data.authorizationToken);
    const decoded = Buffer.from(data.authorizationToken, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0)
        throw new errors/* C2CError */.n$(`ECR GetAuthorizationToken for ${host} returned a malformed token`);
    const username = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    logger.secret(password);
    // The proxyEndpoint is where the registry API answers. It is used when it is this registry (or a
    // loopback endpoint, as with an endpoint override); a token of another account's default registry
    // also opens this one, so otherwise the host itself is used.
    let endpoint = new URL(`https://${host}`);
    if (data.proxyEndpoint) {
        let proxy;
        try {
            proxy = new URL(data.proxyEndpoint);
        }
        catch {
            proxy = undefined;
        }
        if (proxy) {
            const same = (0,reference/* parseEcrHost */.wl)(proxy.host);
            if ((0,reference/* isLoopbackHost */.cW)(proxy.host) ||
                (same && same.accountId === ecr.accountId && same.region === ecr.region))
                endpoint = new URL(proxy.origin);
        }
    }
    if (endpoint.host !== host)
        logger.info(`${host}: registry API at ${endpoint.origin} (ECR proxy endpoint)`);
    const expiresAt = data.expiresAt;
    return {
        username,
        password,
        endpoint,
        ...(expiresAt ? { expiresAt } : {}),
        async ensureRepository(repository, movingTags = []) {
            try {
                await call(`ECR DescribeRepositories ${repository}`, () => client.send(new sdk.DescribeRepositoriesCommand({ registryId: ecr.accountId, repositoryNames: [repository] })));
                logger.debug(`ECR repository ${repository} exists in ${host}`);
                return;
            }
            catch (err) {
                if ((0,aws_errors/* awsErrorOf */.LD)(err.cause)?.name !== 'RepositoryNotFoundException')
                    throw err;
            }
            const mutability = tagMutability(movingTags);
            try {
                await call(`ECR CreateRepository ${repository}`, () => client.send(new sdk.CreateRepositoryCommand({
                    registryId: ecr.accountId,
                    repositoryName: repository,
                    ...mutability,
                })));
                logger.info(`Created ECR repository ${repository} in ${host}, tags ${mutability.imageTagMutability}${mutability.imageTagMutabilityExclusionFilters ? ` but ${movingTags.join(', ')}` : ''}`);
            }
            catch (err) {
                // Another run created it in the meantime: that is what we wanted.
                if ((0,aws_errors/* awsErrorOf */.LD)(err.cause)?.name === 'RepositoryAlreadyExistsException')
                    return;
                throw err;
            }
        },
    };
}
/** ECR takes at most this many exclusion filters. */
const MAX_EXCLUSIONS = 5;
/**
 * How a repository this suite creates treats its tags: IMMUTABLE, so that a content-addressed tag
 * (deps-…, src-…, sha-…) can never be moved; the moving tags it is asked to push too (`extra-tags`
 * such as `latest`, a `tag` the user chose) stay movable as exclusions (IMMUTABLE_WITH_EXCLUSION).
 * More moving tags than ECR takes exclusions for, or `*` (every tag moves: a layer cache): MUTABLE.
 */
function tagMutability(movingTags) {
    const moving = [...new Set(movingTags)];
    if (moving.length === 0)
        return { imageTagMutability: 'IMMUTABLE' };
    if (moving.includes('*'))
        return { imageTagMutability: 'MUTABLE' };
    if (moving.length > MAX_EXCLUSIONS)
        return { imageTagMutability: 'MUTABLE' };
    return {
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: moving.map((filter) => ({ filterType: 'WILDCARD', filter })),
    };
}

// EXTERNAL MODULE: ./lib/registry/media-types.js
var media_types = __webpack_require__(77103);
;// CONCATENATED MODULE: ./lib/registry/client.js








const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
function checkRepository(repository) {
    if (!REPOSITORY.test(repository))
        throw new registry_errors/* RegistryError */.gl(`'${repository}' is not a valid repository name (lowercase path components such as org/app)`);
}
function checkReference(reference) {
    if (!TAG.test(reference) && !DIGEST.test(reference))
        throw new registry_errors/* RegistryError */.gl(`'${reference}' is neither a tag nor a digest`);
}
function checkDigest(digest) {
    if (!DIGEST.test(digest))
        throw new registry_errors/* RegistryError */.gl(`'${digest}' is not a digest (sha256:<64 hex>)`);
}
/** sha256:<hex> of a body (or sha512 when the expected digest uses it). */
function digestOf(body, algorithm = 'sha256') {
    if (algorithm !== 'sha256' && algorithm !== 'sha512')
        throw new registry_errors/* RegistryError */.gl(`unsupported digest algorithm '${algorithm}'`);
    return `${algorithm}:${(0,external_node_crypto_.createHash)(algorithm).update(body).digest('hex')}`;
}
function verifyDigest(expected, body, what) {
    const algorithm = expected.slice(0, expected.indexOf(':'));
    const actual = digestOf(body, algorithm);
    if (actual !== expected)
        throw new registry_errors/* RegistryError */.gl(`${what}: the content's digest is ${actual}, not the ${expected} the registry announced`);
}
function header(res, name) {
    const v = res.headers[name];
    return Array.isArray(v) ? v[0] : v;
}
function mediaTypeOf(res) {
    return (header(res, 'content-type') ?? '').split(';')[0].trim();
}
const REDIRECTS = [301, 302, 303, 307, 308];
class DistributionRegistry {
    host;
    endpoint;
    auth;
    creds;
    logger;
    opts;
    ecr;
    endpointHost;
    insecure;
    ensured = new Set();
    constructor(host, endpoint, auth, creds, logger, opts, ecr) {
        this.host = host;
        this.endpoint = endpoint;
        this.auth = auth;
        this.creds = creds;
        this.logger = logger;
        this.opts = opts;
        this.ecr = ecr;
        this.endpointHost = endpoint.host;
        this.insecure = endpoint.protocol === 'http:';
    }
    async credentials() {
        return this.creds ? { ...this.creds } : undefined;
    }
    async ensureRepository(repository, movingTags = []) {
        checkRepository(repository);
        if (!this.ecr || this.ensured.has(repository))
            return;
        await this.ecr.ensureRepository(repository, movingTags);
        this.ensured.add(repository);
    }
    async head(repository, reference) {
        checkRepository(repository);
        checkReference(reference);
        const res = await this.call('HEAD', `/v2/${repository}/manifests/${reference}`, {
            scopes: [(0,www_authenticate/* repositoryScope */.F7)(repository, ['pull'])],
            headers: { accept: media_types/* MANIFEST_ACCEPT */.dY },
            accept: [404],
            follow: true,
            what: `HEAD manifest ${repository}:${reference} on ${this.host}`,
        });
        if (res.status === 404)
            return undefined;
        const digest = header(res, 'docker-content-digest') ?? (DIGEST.test(reference) ? reference : undefined);
        if (!digest)
            return (await this.getManifest(repository, reference)).info; // a registry that omits the header
        return { digest, mediaType: mediaTypeOf(res), size: Number(header(res, 'content-length') ?? 0) };
    }
    async getManifest(repository, reference) {
        checkRepository(repository);
        checkReference(reference);
        const what = `manifest ${repository}${DIGEST.test(reference) ? '@' : ':'}${reference} on ${this.host}`;
        const res = await this.call('GET', `/v2/${repository}/manifests/${reference}`, {
            scopes: [(0,www_authenticate/* repositoryScope */.F7)(repository, ['pull'])],
            headers: { accept: media_types/* MANIFEST_ACCEPT */.dY },
            accept: [404],
            follow: true,
            what: `GET ${what}`,
        });
        if (res.status === 404)
            throw new registry_errors/* RegistryError */.gl(`The ${what} does not exist (${(0,registry_errors/* registryErrorDetail */.rN)(res.body)})`, 404);
        const announced = header(res, 'docker-content-digest');
        if (announced)
            verifyDigest(announced, res.body, `GET ${what}`);
        if (DIGEST.test(reference))
            verifyDigest(reference, res.body, `GET ${what}`);
        const digest = announced ?? (DIGEST.test(reference) ? reference : digestOf(res.body));
        let json;
        try {
            json = JSON.parse(res.body.toString('utf8'));
        }
        catch {
            throw new registry_errors/* RegistryError */.gl(`The ${what} is not JSON`);
        }
        const mediaType = mediaTypeOf(res) || (typeof json?.mediaType === 'string' ? json.mediaType : '');
        return { info: { digest, mediaType, size: res.body.length }, json };
    }
    async putManifest(repository, reference, body, mediaType) {
        checkRepository(repository);
        checkReference(reference);
        const buf = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
        const computed = digestOf(buf);
        if (DIGEST.test(reference) && reference.startsWith('sha256:') && reference !== computed)
            throw new registry_errors/* RegistryError */.gl(`putManifest: the manifest's digest is ${computed}, not ${reference}`);
        const res = await this.call('PUT', `/v2/${repository}/manifests/${reference}`, {
            scopes: [(0,www_authenticate/* repositoryScope */.F7)(repository, ['pull', 'push'])],
            headers: { 'content-type': mediaType },
            body: buf,
            what: `PUT manifest ${repository}:${reference} on ${this.host}`,
        });
        const announced = header(res, 'docker-content-digest');
        if (announced && announced.startsWith('sha256:') && announced !== computed)
            throw new registry_errors/* RegistryError */.gl(`PUT manifest ${repository}:${reference} on ${this.host}: the registry stored digest ${announced}, the manifest's is ${computed}`);
        return announced ?? computed;
    }
    async putReferrer(repository, body, mediaType) {
        checkRepository(repository);
        const buf = Buffer.from(body, 'utf8');
        const digest = digestOf(buf);
        const res = await this.call('PUT', `/v2/${repository}/manifests/${digest}`, {
            scopes: [(0,www_authenticate/* repositoryScope */.F7)(repository, ['pull', 'push'])],
            headers: { 'content-type': mediaType },
            body: buf,
            what: `PUT manifest ${repository}@${digest} on ${this.host}`,
        });
        const subject = JSON.parse(body).subject?.digest;
        return { digest, indexed: !!subject && header(res, 'oci-subject') === subject };
    }
    async referrers(repository, digest) {
        checkRepository(repository);
        checkDigest(digest);
        const res = await this.call('GET', `/v2/${repository}/referrers/${digest}`, {
            scopes: [(0,www_authenticate/* repositoryScope */.F7)(repository, ['pull'])],
            headers: { accept: media_types/* OCI_INDEX */.$p },
            // 404: no referrers API (distribution 2.x answers so for an unknown route); 400/405 likewise.
            accept: [400, 404, 405],
            follow: true,
            what: `GET referrers of ${repository}@${digest} on ${this.host}`,
        });
        if (res.status !== 200)
            return undefined;
        try {
            const index = JSON.parse(res.body.toString('utf8'));
            return Array.isArray(index.manifests) ? index.manifests : undefined;
        }
        catch {
            return undefined;
        }
    }
    async getBlob(repository, digest) {
        checkRepository(repository);
        checkDigest(digest);
        const what = `blob ${repository}@${digest} on ${this.host}`;
        const res = await this.call('GET', `/v2/${repository}/blobs/${digest}`, {
            scopes: [(0,www_authenticate/* repositoryScope */.F7)(repository, ['pull'])],
            accept: [404],
            follow: true,
            what: `GET ${what}`,
        });
        if (res.status === 404)
            throw new registry_errors/* RegistryError */.gl(`The ${what} does not exist`, 404);
        verifyDigest(digest, res.body, `GET ${what}`);
        return res.body;
    }
    async blobExists(repository, digest) {
        checkRepository(repository);
        checkDigest(digest);
        const res = await this.call('HEAD', `/v2/${repository}/blobs/${digest}`, {
            scopes: [(0,www_authenticate/* repositoryScope */.F7)(repository, ['pull'])],
            accept: [404],
            follow: true,
            what: `HEAD blob ${repository}@${digest} on ${this.host}`,
        });
        return res.status !== 404;
    }
    async pushBlob(repository, data) {
        checkRepository(repository);
        const digest = digestOf(data);
        if (await this.blobExists(repository, digest))
            return digest;
        const scopes = [(0,www_authenticate/* repositoryScope */.F7)(repository, ['pull', 'push'])];
        const what = `blob upload ${repository}@${digest} on ${this.host}`;
        const start = await this.call('POST', `/v2/${repository}/blobs/uploads/`, {
            scopes,
            what: `POST ${what}`,
        });
        const location = header(start, 'location');
        if (start.status !== 202 || !location)
            throw new registry_errors/* RegistryError */.gl(`POST ${what}: expected 202 with a Location, got ${start.status}`, start.status);
        const put = new URL(location, this.endpoint);
        put.searchParams.set('digest', digest);
        await this.call('PUT', put.toString(), {
            scopes,
            headers: { 'content-type': 'application/octet-stream' },
            body: data,
            what: `PUT ${what}`,
        });
        return digest;
    }
    async mountBlob(repository, digest, fromRepository) {
        checkRepository(repository);
        checkRepository(fromRepository);
        checkDigest(digest);
        const q = new URLSearchParams({ mount: digest, from: fromRepository });
        const what = `mount of ${digest} from ${fromRepository} into ${repository} on ${this.host}`;
        const res = await this.call('POST', `/v2/${repository}/blobs/uploads/?${q}`, {
            scopes: [(0,www_authenticate/* repositoryScope */.F7)(repository, ['pull', 'push']), (0,www_authenticate/* repositoryScope */.F7)(fromRepository, ['pull'])],
            what: `POST ${what}`,
        });
        if (res.status === 201)
            return true;
        // 202: the registry could not mount and opened an upload instead; cancel it.
        const location = header(res, 'location');
        if (location) {
            await this.call('DELETE', new URL(location, this.endpoint).toString(), {
                scopes: [(0,www_authenticate/* repositoryScope */.F7)(repository, ['pull', 'push'])],
                accept: [404],
                what: `DELETE upload opened by ${what}`,
            }).catch((e) => this.logger.debug(`cancelling the upload failed: ${e.message}`));
        }
        this.logger.debug(`${what}: not mounted (HTTP ${res.status})`);
        return false;
    }
    async listTags(repository, opts = {}) {
        checkRepository(repository);
        const n = opts.pageSize ?? 1000;
        const base = `/v2/${repository}/tags/list`;
        const tags = [];
        const seen = new Set();
        let next = `${base}?n=${n}`;
        for (let page = 0; next && page < 10_000; page++) {
            const res = await this.call('GET', next, {
                scopes: [(0,www_authenticate/* repositoryScope */.F7)(repository, ['pull'])],
                accept: [404],
                follow: true,
                what: `GET tags of ${repository} on ${this.host}`,
            });
            if (res.status === 404)
                return tags; // no such repository: no tags
            const json = JSON.parse(res.body.toString('utf8'));
            const pageTags = json.tags ?? [];
            const fresh = pageTags.filter((t) => !seen.has(t));
            // A registry that ignores `last` answers the same page again: that is the end.
            if (fresh.length === 0)
                break;
            for (const t of fresh)
                seen.add(t);
            tags.push(...fresh);
            // The OCI distribution spec: follow a Link header when there is one (it is optional); without
            // one, a page of exactly n tags may have a next page, asked for with last=<its last tag>; a
            // shorter page is the last, and a longer one means the registry ignored n and sent them all.
            next =
                nextLink(header(res, 'link')) ??
                    (pageTags.length === n ? `${base}?n=${n}&last=${encodeURIComponent(pageTags.at(-1))}` : undefined);
        }
        return tags;
    }
    async imageConfig(repository, reference) {
        const top = await this.getManifest(repository, reference);
        let manifest = top;
        let annotations = {};
        if ((0,media_types/* isIndexMediaType */.$$)(top.info.mediaType) || Array.isArray(top.json?.manifests)) {
            annotations = { ...(top.json.annotations ?? {}) };
            const entry = pickPlatform(top.json.manifests ?? []);
            if (!entry)
                throw new registry_errors/* RegistryError */.gl(`The index ${repository}:${reference} on ${this.host} lists no image manifest`);
            manifest = await this.getManifest(repository, entry.digest);
        }
        const configDigest = manifest.json?.config?.digest;
        if (typeof configDigest !== 'string')
            throw new registry_errors/* RegistryError */.gl(`The manifest ${repository}@${manifest.info.digest} on ${this.host} has no config (media type ${manifest.info.mediaType})`);
        const config = JSON.parse((await this.getBlob(repository, configDigest)).toString('utf8'));
        return {
            labels: { ...(config.config?.Labels ?? {}) },
            ...(typeof config.created === 'string' ? { created: config.created } : {}),
            digest: top.info.digest,
            manifestDigest: manifest.info.digest,
            configDigest,
            annotations: { ...annotations, ...(manifest.json.annotations ?? {}) },
            config: config,
        };
    }
    /** One request with auth, retries (via fetchWithRetry), redirects and clear errors. */
    async call(method, target, o) {
        let url = new URL(target, this.endpoint);
        let scopes = o.scopes;
        let authRetried = false;
        for (let hops = 0;;) {
            const sameOrigin = url.origin === this.endpoint.origin;
            const authorization = sameOrigin ? await this.auth.header(scopes) : undefined;
            const res = await this.send({
                method,
                url,
                headers: { ...o.headers, ...(authorization ? { authorization } : {}) },
                ...(o.body !== undefined ? { body: o.body } : {}),
            }, [...(o.accept ?? []), 401, 403, ...REDIRECTS], o.what);
            if (res.status === 401 && sameOrigin && !authRetried) {
                authRetried = true;
                const again = this.auth.retryAfter401(res, scopes, authorization);
                if (again) {
                    scopes = again;
                    continue;
                }
            }
            if (res.status === 401 || res.status === 403)
                throw this.auth.error(res.status, scopes, (0,registry_errors/* registryErrorDetail */.rN)(res.body));
            if (REDIRECTS.includes(res.status)) {
                const location = header(res, 'location');
                if (!o.follow || !location || hops >= 5)
                    throw new registry_errors/* RegistryError */.gl(`${o.what}: unexpected redirect (HTTP ${res.status})`, res.status);
                url = new URL(location, url);
                hops++;
                continue;
            }
            if ((res.status >= 200 && res.status < 300) || o.accept?.includes(res.status))
                return res;
            throw new registry_errors/* RegistryError */.gl(`${o.what}: HTTP ${res.status}: ${(0,registry_errors/* registryErrorDetail */.rN)(res.body)}`, res.status);
        }
    }
    send(req, accept, what) {
        return sendWithRetry(this.host, { ...req, ...this.opts.tls, timeoutMs: this.opts.timeoutMs }, accept, what, this.logger, this.opts.retry);
    }
}
async function sendWithRetry(host, req, accept, what, logger, retry) {
    const { timeoutMs, ...rest } = req;
    try {
        return await fetchWithRetry({ ...rest, ...(timeoutMs !== undefined ? { timeoutMs } : {}) }, { accept, logger, what, ...(retry ? { retry } : {}) });
    }
    catch (err) {
        const last = err instanceof core_retry/* RetryExhaustedError */.aB ? err.last : err;
        if (last instanceof HttpError)
            throw new registry_errors/* RegistryError */.gl(`${err instanceof core_retry/* RetryExhaustedError */.aB ? err.message.split(': HTTP')[0] : what}: HTTP ${last.status}: ${(0,registry_errors/* registryErrorDetail */.rN)(last.body)}`, last.status, { cause: err });
        throw new registry_errors/* RegistryUnreachableError */.ST(host, redactUrl(req.url), err);
    }
}
/** The URL of rel="next" in a Link header: </v2/app/tags/list?last=b&n=2>; rel="next". */
function nextLink(link) {
    if (!link)
        return undefined;
    for (const part of link.split(/,(?=\s*<)/)) {
        const m = /<([^>]*)>(.*)/.exec(part.trim());
        if (m && /;\s*rel="?next"?/i.test(m[2]))
            return m[1];
    }
    return undefined;
}
/** linux/amd64 when listed, else the first entry that is an image (not an attestation). */
function pickPlatform(entries) {
    const images = entries.filter((e) => typeof e.digest === 'string' &&
        e.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest' &&
        !(e.platform?.os === 'unknown' && e.platform?.architecture === 'unknown'));
    return images.find((e) => e.platform?.os === 'linux' && e.platform?.architecture === 'amd64') ?? images[0];
}
function endpointFor(host) {
    if (host === reference/* DOCKER_HUB */.Xb)
        return new URL('https://registry-1.docker.io');
    if ((0,reference/* isLoopbackHost */.cW)(host))
        return new URL(`http://${host}`);
    return new URL(`https://${host}`);
}
/**
 * Connects to a registry: ECR hosts get an authorization token from the AWS SDK (default credential
 * chain, region from the host); every registry is pinged (GET /v2/) anonymously to learn its
 * authentication challenge. Plain http only for loopback hosts.
 */
/**
 * What `repository:tag` holds (builder TagHolding): its digest and the config digest of the image,
 * or of each platform's image under an index; undefined when there is no such tag.
 */
async function tagHolding(reg, repository, tag) {
    if (!(await reg.head(repository, tag)))
        return undefined;
    const { info, json } = await reg.getManifest(repository, tag);
    const children = Array.isArray(json?.manifests) ? json.manifests : [];
    const configs = [];
    if (json?.config?.digest)
        configs.push(String(json.config.digest));
    for (const c of children) {
        const child = await reg.getManifest(repository, c.digest);
        if (child.json?.config?.digest)
            configs.push(String(child.json.config.digest));
    }
    return { digest: info.digest, configs: configs.sort() };
}
/**
 * The layer cache of `repository` (`cache: registry`): `<repository>-cache` next to it, made when
 * missing with every tag movable (its tags are step keys any build may push again); its full
 * reference host/name for the builder.
 */
async function ensureCacheRepository(reg, repository) {
    const cache = `${repository}-cache`;
    await reg.ensureRepository(cache, ['*']);
    return `${reg.endpointHost}/${cache}`;
}
async function connectRegistry(host, opts) {
    const { logger } = opts;
    let parsed;
    try {
        parsed = (0,reference/* parseImageReference */.o_)(`${host}/x`);
    }
    catch {
        parsed = undefined;
    }
    if (!host || !parsed || parsed.registry !== (host === 'index.docker.io' ? reference/* DOCKER_HUB */.Xb : host))
        throw new registry_errors/* RegistryError */.gl(`'${host}' is not a registry host (host[:port], e.g. ghcr.io or 127.0.0.1:5000)`);
    if (opts.username && !opts.password)
        throw new errors/* InputError */.dz('registry-password', 'is empty while registry-username is set', 'both or neither');
    if (opts.password && !opts.username)
        throw new errors/* InputError */.dz('registry-username', 'is empty while registry-password is set', 'both or neither');
    let creds;
    let endpoint = endpointFor(parsed.registry);
    let ecr;
    const ecrHost = (0,reference/* parseEcrHost */.wl)(host);
    if (ecrHost) {
        if (opts.username)
            logger.debug(`${host} is an ECR registry: registry-username/registry-password are ignored, AWS credentials are used`);
        ecr = await ecrLogin(host, ecrHost, logger, opts.retry);
        creds = { username: ecr.username, password: ecr.password, source: 'ECR GetAuthorizationToken' };
        endpoint = ecr.endpoint;
    }
    else if (opts.username && opts.password) {
        logger.secret(opts.password);
        creds = {
            username: opts.username,
            password: opts.password,
            source: opts.credentialSource ?? 'inputs registry-username/registry-password',
        };
    }
    if (endpoint.protocol === 'http:' && !(0,reference/* isLoopbackHost */.cW)(endpoint.host))
        throw new registry_errors/* RegistryError */.gl(`Refusing plain http to ${endpoint.host} for ${host}: only loopback registries may use http`);
    const tlsOpts = opts.tls ?? {};
    const auth = new Authenticator(host, creds, logger, opts.retry, tlsOpts);
    const ping = async (url) => sendWithRetry(host, { method: 'GET', url: new URL('/v2/', url), ...tlsOpts, timeoutMs: opts.timeoutMs }, [400, 401, 403, 404], `GET ${new URL('/v2/', url)} (registry ${host})`, logger, opts.retry);
    let res = await ping(endpoint);
    // A loopback registry served over TLS answers plain http with a 400 (Go's http.Server does).
    if (res.status === 400 &&
        endpoint.protocol === 'http:' &&
        /HTTP request to an HTTPS server/i.test(res.body.toString())) {
        endpoint = new URL(`https://${endpoint.host}`);
        res = await ping(endpoint);
    }
    if (res.status === 401) {
        const ch = auth.learn(res);
        logger.debug(`${host}: registry asks for ${ch?.scheme ?? 'unknown'} authentication`);
    }
    else if (res.status === 404 || res.status === 400)
        throw new registry_errors/* RegistryError */.gl(`${endpoint.origin} (registry ${host}) does not speak the Distribution API v2: GET /v2/ answered HTTP ${res.status}`, res.status);
    else if (res.status === 403)
        throw auth.error(403, [], (0,registry_errors/* registryErrorDetail */.rN)(res.body));
    return new DistributionRegistry(host, endpoint, auth, creds, logger, opts, ecr);
}


/***/ }),

/***/ 50228:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   Mo: () => (/* binding */ describeCredentials),
/* harmony export */   ST: () => (/* binding */ RegistryUnreachableError),
/* harmony export */   gl: () => (/* binding */ RegistryError),
/* harmony export */   rN: () => (/* binding */ registryErrorDetail),
/* harmony export */   w4: () => (/* binding */ RegistryAuthError)
/* harmony export */ });
/* harmony import */ var _core_index_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(3828);

function describeCredentials(c) {
    return c.username === undefined
        ? 'anonymously (no credentials given)'
        : `as '${c.username}' (from ${c.source})`;
}
/** 401/403 from a registry or its token server. The message names the user and the scope, never a password or token. */
class RegistryAuthError extends _core_index_js__WEBPACK_IMPORTED_MODULE_0__/* .C2CError */ .n$ {
    registry;
    status;
    credentials;
    scope;
    name = 'RegistryAuthError';
    constructor(registry, status, credentials, scope, detail) {
        const verb = status === 403 ? 'denied access' : 'refused authentication';
        const hint = credentials.username === undefined
            ? ' The registry needs credentials: give a username and password (registry-username/registry-password), or AWS credentials for ECR.'
            : status === 403
                ? ' The credentials were accepted but lack permission for this scope.'
                : ' Check the username and password (or token) and that they are valid for this registry.';
        super(`Registry ${registry} ${verb} (HTTP ${status}) for ${scope || 'the registry'} when connecting ${describeCredentials(credentials)}${detail ? `: ${detail}` : ''}.${hint}`);
        this.registry = registry;
        this.status = status;
        this.credentials = credentials;
        this.scope = scope;
    }
}
/** The registry could not be reached after bounded retries. */
class RegistryUnreachableError extends _core_index_js__WEBPACK_IMPORTED_MODULE_0__/* .C2CError */ .n$ {
    registry;
    name = 'RegistryUnreachableError';
    constructor(registry, url, cause) {
        super(`Registry ${registry} is unreachable at ${url}: ${cause?.message ?? String(cause)}`, {
            cause,
        });
        this.registry = registry;
    }
}
/** Anything else the registry answered that the client cannot use (bad digest, unexpected status, not a v2 registry). */
class RegistryError extends _core_index_js__WEBPACK_IMPORTED_MODULE_0__/* .C2CError */ .n$ {
    status;
    name = 'RegistryError';
    constructor(message, status, opts = {}) {
        super(message, opts);
        this.status = status;
    }
}
/** Extracts the first error of a Distribution API error body: "MANIFEST_UNKNOWN: manifest unknown". */
function registryErrorDetail(body) {
    const text = body.toString();
    try {
        const json = JSON.parse(text);
        const e = json.errors?.[0];
        if (e)
            return [e.code, e.message].filter(Boolean).join(': ');
        if (typeof json.details === 'string')
            return json.details;
    }
    catch {
        // not JSON
    }
    return text.trim().slice(0, 200);
}


/***/ }),

/***/ 77103:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   $$: () => (/* binding */ isIndexMediaType),
/* harmony export */   $p: () => (/* binding */ OCI_INDEX),
/* harmony export */   BQ: () => (/* binding */ OCI_LAYER_GZIP),
/* harmony export */   EG: () => (/* binding */ OCI_MANIFEST),
/* harmony export */   MZ: () => (/* binding */ DOCKER_LAYER_GZIP),
/* harmony export */   TF: () => (/* binding */ OCI_CONFIG),
/* harmony export */   Vv: () => (/* binding */ DOCKER_MANIFEST),
/* harmony export */   d6: () => (/* binding */ isImageManifestMediaType),
/* harmony export */   dY: () => (/* binding */ MANIFEST_ACCEPT),
/* harmony export */   e6: () => (/* binding */ DOCKER_CONFIG),
/* harmony export */   m6: () => (/* binding */ DOCKER_MANIFEST_LIST)
/* harmony export */ });
/** Manifest media types the client asks for and understands. */
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
/** The Accept header of every manifest HEAD/GET: indexes first, then single-platform manifests. */
const MANIFEST_ACCEPT = [OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST].join(', ');
function isIndexMediaType(mediaType) {
    return mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST;
}
function isImageManifestMediaType(mediaType) {
    return mediaType === OCI_MANIFEST || mediaType === DOCKER_MANIFEST;
}


/***/ }),

/***/ 31844:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   Bn: () => (/* binding */ scopesCover),
/* harmony export */   F7: () => (/* binding */ repositoryScope),
/* harmony export */   Sk: () => (/* binding */ parseScope),
/* harmony export */   YZ: () => (/* binding */ normaliseScopes),
/* harmony export */   gk: () => (/* binding */ formatScope),
/* harmony export */   qd: () => (/* binding */ parseWwwAuthenticate)
/* harmony export */ });
/** Parses a WWW-Authenticate header value (or several) into its challenges, in order. */
function parseWwwAuthenticate(header) {
    if (header === undefined)
        return [];
    const values = Array.isArray(header) ? header : [header];
    const out = [];
    for (const value of values) {
        let i = 0;
        const s = value;
        const skipWs = () => {
            while (i < s.length && (s[i] === ' ' || s[i] === '\t'))
                i++;
        };
        const readToken = () => {
            const start = i;
            while (i < s.length && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(s[i]))
                i++;
            return s.slice(start, i);
        };
        let current;
        while (i < s.length) {
            skipWs();
            if (s[i] === ',') {
                i++;
                continue;
            }
            const save = i;
            const tok = readToken();
            if (!tok) {
                i++; // garbage: skip a character
                continue;
            }
            skipWs();
            if (s[i] === '=' && current) {
                // auth-param: name=value (token or quoted-string)
                i++;
                skipWs();
                let val = '';
                if (s[i] === '"') {
                    i++;
                    while (i < s.length && s[i] !== '"') {
                        if (s[i] === '\\' && i + 1 < s.length)
                            i++;
                        val += s[i];
                        i++;
                    }
                    i++; // closing quote
                }
                else {
                    const start = i;
                    while (i < s.length && s[i] !== ',')
                        i++;
                    val = s.slice(start, i).trim();
                }
                current.params[tok.toLowerCase()] = val;
            }
            else if (s[i] === '=' && !current) {
                // token68 without a scheme: not a challenge we understand
                i = save + tok.length + 1;
            }
            else {
                current = { scheme: tok.toLowerCase(), params: {} };
                out.push(current);
            }
        }
    }
    return out;
}
function parseScope(scope) {
    const first = scope.indexOf(':');
    const last = scope.lastIndexOf(':');
    if (first < 0 || last === first)
        return undefined;
    return {
        type: scope.slice(0, first),
        name: scope.slice(first + 1, last),
        actions: scope
            .slice(last + 1)
            .split(',')
            .filter(Boolean),
    };
}
function formatScope(s) {
    return `${s.type}:${s.name}:${s.actions.join(',')}`;
}
function repositoryScope(repository, actions) {
    return `repository:${repository}:${actions.join(',')}`;
}
/** Merges scopes of the same resource: [repo:a:pull, repo:a:push] -> [repo:a:pull,push]; sorted, stable. */
function normaliseScopes(scopes) {
    const byResource = new Map();
    for (const raw of scopes.flatMap((s) => s.split(' ')).filter(Boolean)) {
        const s = parseScope(raw);
        if (!s)
            continue;
        const key = `${s.type}:${s.name}`;
        const set = byResource.get(key) ?? new Set();
        for (const a of s.actions)
            set.add(a);
        byResource.set(key, set);
    }
    return [...byResource.entries()].map(([k, acts]) => `${k}:${[...acts].sort().join(',')}`).sort();
}
/** Whether a token granted for `granted` scopes is good for every scope in `needed`. */
function scopesCover(granted, needed) {
    const have = new Map();
    for (const g of granted) {
        const s = parseScope(g);
        if (!s)
            continue;
        const key = `${s.type}:${s.name}`;
        const set = have.get(key) ?? new Set();
        for (const a of s.actions)
            set.add(a);
        have.set(key, set);
    }
    return needed.every((n) => {
        const s = parseScope(n);
        if (!s)
            return false;
        const set = have.get(`${s.type}:${s.name}`);
        return !!set && (set.has('*') || s.actions.every((a) => set.has(a)));
    });
}


/***/ })

};
