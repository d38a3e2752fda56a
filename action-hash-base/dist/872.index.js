export const id = 872;
export const ids = [872];
export const modules = {

/***/ 47872:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  buildAndPush: () => (/* binding */ buildAndPush),
  resolveBuilder: () => (/* binding */ resolveBuilder)
});

// UNUSED EXPORTS: BUILDAH_INSTALL_HINT, BUILD_INPUT_DEFS, DOCKER_INSTALL_HINT, TagHeldError, attestSecrets, buildahArgs, buildahGlobalArgs, buildahStorage, defaultContainersAuthFiles, displayBuildArgs, dockerArgs, dockerConfigDir, looksSecret, parseBuildCommon, registriesConfText, sourceDateEpoch, validateBuildRequest, validateTargets, writeAuthFile

// EXTERNAL MODULE: ./lib/core/exec.js
var exec = __webpack_require__(91354);
// EXTERNAL MODULE: ./lib/core/errors.js
var errors = __webpack_require__(3828);
// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(51455);
// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(48161);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(76760);
// EXTERNAL MODULE: ./lib/core/retry.js
var retry = __webpack_require__(7493);
// EXTERNAL MODULE: ./lib/images/reference.js
var reference = __webpack_require__(41403);
// EXTERNAL MODULE: ./lib/builder/auth.js
var builder_auth = __webpack_require__(81089);
;// CONCATENATED MODULE: ./lib/builder/secrets.js


/**
 * Secrets of a build: the build secrets (`secrets`, `secret-files`), handed to the builder as files,
 * and build arguments whose names look secret, hidden wherever this program shows them.
 */
/** A build argument name that looks like it holds a secret: *TOKEN*, *PASSWORD*, *SECRET*, *KEY* (any case). */
function looksSecret(name) {
    return /token|password|secret|key/i.test(name);
}
/** A command line as it may be shown: `--build-arg NAME=***` for every name that looks secret. */
function displayBuildArgs(args) {
    return args.map((a, i) => {
        if (args[i - 1] !== '--build-arg')
            return a;
        const eq = a.indexOf('=');
        return eq > 0 && looksSecret(a.slice(0, eq)) ? `${a.slice(0, eq)}=***` : a;
    });
}
/** Masking below this length would hide every occurrence of common short strings ('1', 'yes'). */
const MIN_MASKED_ARG = 4;
/** A secret file larger than this is not read for masking (a key store, not a line of text). */
const MAX_MASKED_FILE = 64 * 1024;
/**
 * Registers every secret of the request with the logger before the builder runs: secret values,
 * the content of (small) secret files, and the values of build arguments whose names look secret,
 * with a warning for each of those: a build argument stays readable in the image.
 */
async function registerBuildSecrets(req, logger) {
    for (const s of req.secrets ?? []) {
        if ('value' in s)
            logger.secret(s.value);
        else {
            const st = await (0,promises_.stat)(s.file).catch(() => undefined);
            if (st && st.size <= MAX_MASKED_FILE) {
                const content = await (0,promises_.readFile)(s.file, 'utf8').catch(() => '');
                if (content.trim())
                    logger.secret(content.trim());
            }
        }
    }
    for (const [name, value] of req.buildArgs ?? []) {
        if (!looksSecret(name))
            continue;
        if (value.length >= MIN_MASKED_ARG)
            logger.secret(value);
        const where = req.inputNames?.buildArgs ? `Input '${req.inputNames.buildArgs}': ` : 'Build argument ';
        logger.warning(`${where}${name} looks like a secret. Its value is hidden in this log, but a build argument stays readable in the image (its history and config): pass it in '${req.inputNames?.secrets ?? 'secrets'}' instead and read it with RUN --mount=type=secret,id=${name}.`);
    }
}
/**
 * The file each secret is read from, in the order of the request: a value goes into a new 0600 file
 * in `dir` (a private directory the caller removes), a file secret is its own file.
 */
async function writeSecretSources(secrets, dir) {
    const sources = [];
    for (const [i, s] of secrets.entries()) {
        if ('file' in s) {
            sources.push(s.file);
            continue;
        }
        const file = external_node_path_.join(dir, `secret-${i}`);
        await (0,promises_.writeFile)(file, s.value, { mode: 0o600, flag: 'wx' });
        sources.push(file);
    }
    return sources;
}
/** `--secret id=<id>,src=<file>` for buildah and docker buildx alike. */
function secretArgs(secrets, sources) {
    return secrets.flatMap((s, i) => {
        const src = sources?.[i] ?? ('file' in s ? s.file : undefined);
        if (!src)
            throw new Error(`build secret '${s.id}' has no file to be read from (writeSecretSources)`);
        return ['--secret', `id=${s.id},src=${src}`];
    });
}

;// CONCATENATED MODULE: ./lib/builder/errors.js

/**
 * A tag that never moves (content-addressed) already holds another image than the one built: the
 * tag is left as it is and the build fails, naming both.
 */
class TagHeldError extends errors/* C2CError */.n$ {
    tag;
    held;
    built;
    constructor(tag, held, built) {
        super(`The tag ${tag} already holds another image: ${held.digest} (image ${held.configs.join(', ') || 'unknown'}), ` +
            `while this build made image ${built.join(', ')}. A content tag is never moved, so nothing was pushed to it. ` +
            'The same content builds another image when the build is not reproducible (a time stamp, a download in a RUN step): ' +
            'set SOURCE_DATE_EPOCH or make the step reproducible, or delete the tag in the registry to replace it.');
        this.tag = tag;
        this.held = held;
        this.built = built;
    }
}

;// CONCATENATED MODULE: ./lib/builder/buildah.js








const BUILDAH_INSTALL_HINT = 'install it with `apt-get install -y buildah`';
const probed = new Map();
/** Whether buildah's configured store opens; undefined (use it) or 'vfs' (fallback). Probed once per PATH. */
function probeDriver(env) {
    const key = `${env.PATH ?? ''}\0${env.C2C_BUILDAH_ROOT ?? ''}`;
    const known = probed.get(key);
    if (known)
        return known;
    const p = (0,exec/* exec */.m0)('buildah', ['info', '--format', '{{.store.GraphDriverName}}'], {
        env,
        allowFailure: true,
        timeoutMs: 20_000,
        installHint: BUILDAH_INSTALL_HINT,
    }).then((r) => (r.code === 0 && r.stdout.trim() ? undefined : 'vfs'), () => 'vfs');
    probed.set(key, p);
    return p;
}
async function buildahStorage(env = process.env) {
    const driver = env.C2C_BUILDAH_STORAGE_DRIVER || (await probeDriver(env));
    return {
        ...(driver ? { driver } : {}),
        ...(env.C2C_BUILDAH_ROOT ? { root: env.C2C_BUILDAH_ROOT } : {}),
        ...(env.C2C_BUILDAH_RUNROOT ? { runroot: env.C2C_BUILDAH_RUNROOT } : {}),
        isolation: env.C2C_BUILDAH_ISOLATION || env.BUILDAH_ISOLATION || 'chroot',
    };
}
/** The global options (before the subcommand) for a storage. */
function buildahGlobalArgs(storage) {
    const args = [];
    if (storage.root)
        args.push('--root', storage.root);
    if (storage.runroot)
        args.push('--runroot', storage.runroot);
    if (storage.driver)
        args.push('--storage-driver', storage.driver);
    return args;
}
function targetFor(host, targets) {
    return targets.find((t) => t.host === host);
}
/**
 * The buildah command lines for a validated request: a pure function (tested for what it puts on
 * the command line: never a credential). The image (the source of every push) is the one in the
 * iid file for one platform, or the local manifest list for several.
 */
function buildahArgs(req, files, storage, imageId = '<image-id>') {
    const global = buildahGlobalArgs(storage);
    const platforms = req.platforms ?? [];
    const multiPlatform = platforms.length > 1;
    // Layer caching, except for several platforms: buildah 1.28's cache ignores the platform of a
    // FROM scratch stage, so every platform would get the first one's image.
    const b = [...global, 'bud', ...(multiPlatform ? [] : ['--layers']), '--isolation', storage.isolation];
    b.push('--format', req.format ?? 'oci');
    b.push('-f', req.dockerfile);
    if (files.authFile)
        b.push('--authfile', files.authFile);
    if (req.cacheRepository && !multiPlatform)
        b.push('--cache-from', req.cacheRepository, '--cache-to', req.cacheRepository);
    for (const [k, v] of req.buildArgs ?? [])
        b.push('--build-arg', `${k}=${v}`);
    b.push(...secretArgs(req.secrets ?? [], files.secrets));
    if (req.target)
        b.push('--target', req.target);
    if (platforms.length)
        b.push('--platform', platforms.join(','));
    for (const [k, v] of Object.entries(req.labels ?? {}))
        b.push('--label', `${k}=${v}`);
    for (const [k, v] of Object.entries(req.annotations ?? {}))
        b.push('--annotation', `${k}=${v}`);
    if (req.timestamp !== undefined)
        b.push('--timestamp', String(Math.floor(req.timestamp)));
    if (multiPlatform)
        b.push('--manifest', files.manifestName);
    else {
        b.push('--iidfile', files.iidFile);
        for (const t of req.tags)
            b.push('--tag', t);
    }
    b.push(req.context);
    const pushes = req.tags.map((tag, i) => {
        const host = (0,reference/* parseImageReference */.o_)(tag).registry;
        const target = targetFor(host, req.targets);
        const p = [...global];
        p.push(...(multiPlatform ? ['manifest', 'push', '--all'] : ['push']));
        if (files.authFile)
            p.push('--authfile', files.authFile);
        p.push('--digestfile', files.digestFile(i));
        if (target?.insecure)
            p.push('--tls-verify=false');
        // Our retry helper decides about retries (bounded, with backoff). buildah 1.28 takes `--retry 0`
        // as its default of 3, so its own delay is cut to nothing instead.
        if (!multiPlatform)
            p.push('--retry', '0', '--retry-delay', '1ms');
        if (!multiPlatform && req.format)
            p.push('--format', req.format === 'docker' ? 'v2s2' : 'oci');
        p.push(multiPlatform ? files.manifestName : imageId, `docker://${tag}`);
        return { tag, args: p };
    });
    return { build: b, pushes, multiPlatform };
}
/** Registry errors worth another attempt: connection problems, 5xx, 429, timeouts. */
function transientPushError(err) {
    if (!(err instanceof exec/* ExecError */.cI))
        return false;
    const text = `${err.result.stderr}\n${err.result.stdout}`;
    if (/unauthorized|authentication required|denied|forbidden|\b40[134]\b/i.test(text))
        return false;
    return /connection refused|connection reset|i\/o timeout|timeout|EOF|no such host|temporary failure|\b50[0234]\b|\b429\b|too many requests|server misbehaving|broken pipe/i.test(text);
}
function explainPushError(err, tag, target) {
    const inner = err instanceof errors/* C2CError */.n$ && err.cause instanceof exec/* ExecError */.cI ? err.cause : err;
    if (!(inner instanceof exec/* ExecError */.cI))
        return err;
    const text = `${inner.result.stderr}\n${inner.result.stdout}`;
    if (/unauthorized|authentication required|\b401\b|denied|forbidden|\b403\b/i.test(text)) {
        const who = target && (0,builder_auth/* hasCredentials */.Lk)(target) ? `the credentials of user '${target.username}'` : 'no credentials';
        return new errors/* C2CError */.n$(`Pushing ${tag} was refused by ${target?.host ?? (0,reference/* parseImageReference */.o_)(tag).registry} (unauthorized or denied) with ${who}. Check the registry username and password (or token) and that they may push to this repository.`, { cause: err });
    }
    return err;
}
/** The registry's refusal to overwrite a tag it keeps (ECR: TAG_INVALID "... is immutable"). */
function refusedAsImmutable(err) {
    const inner = err instanceof errors/* C2CError */.n$ && err.cause instanceof exec/* ExecError */.cI ? err.cause : err;
    if (!(inner instanceof exec/* ExecError */.cI))
        return false;
    return /TAG_INVALID|tag invalid|immutable/i.test(`${inner.result.stderr}\n${inner.result.stdout}`);
}
/**
 * For a tag that never moves: the digest it holds when that is this very image (the same config
 * digests), undefined when it holds nothing; a TagHeldError when it holds another image.
 */
async function heldBy(req, tag, configs) {
    const held = await req.holding(tag);
    if (!held)
        return undefined;
    const ours = [...configs].sort();
    if (held.configs.length === ours.length && held.configs.every((c, i) => c === ours[i]))
        return held.digest;
    const err = new TagHeldError(tag, held, ours);
    if (req.whenHeld !== 'use')
        throw err;
    req.logger.warning(`another run pushed ${tag} while this one built it: it holds ${held.digest} (image ${held.configs.join(', ')}), this build made image ${ours.join(', ')}; the tag is never moved, so this run uses the image it holds`);
    return held.digest;
}
/**
 * The config digests (image ids) of a local manifest list's images, sorted: the list names each
 * image by its manifest digest, which `buildah images` maps to the image id.
 */
async function manifestListConfigs(storage, env, name) {
    const global = buildahGlobalArgs(storage);
    const list = JSON.parse((await (0,exec/* exec */.m0)('buildah', [...global, 'manifest', 'inspect', name], { env })).stdout);
    const images = JSON.parse((await (0,exec/* exec */.m0)('buildah', [...global, 'images', '--json', '--no-trunc'], { env })).stdout);
    const idOf = (digest) => {
        const image = images.find((i) => i.digest === digest || (i.digests ?? []).includes(digest));
        if (!image)
            throw new errors/* C2CError */.n$(`buildah lists no image for ${digest} of the manifest list ${name}`);
        return image.id.startsWith('sha256:') ? image.id : `sha256:${image.id}`;
    };
    return (list.manifests ?? []).map((m) => idOf(m.digest)).sort();
}
async function readDigest(file) {
    const d = (await (0,promises_.readFile)(file, 'utf8')).trim();
    if (!/^sha256:[a-f0-9]{64}$/.test(d))
        throw new errors/* C2CError */.n$(`buildah wrote no digest of the pushed image (got '${d}').`);
    return d;
}
/**
 * Builds with buildah and pushes to every tag; credentials only in a 0600 auth file, secret values
 * only in 0600 files of the private work dir, both removed after.
 */
async function buildahBuildAndPush(req) {
    const start = Date.now();
    const logger = req.logger;
    const env = { ...(req.env ?? process.env) };
    if (!(await (0,exec/* which */.K7)('buildah', env.PATH)))
        throw new errors/* ToolMissingError */.hc('buildah', BUILDAH_INSTALL_HINT);
    for (const t of req.targets)
        if (t.password)
            logger.secret(t.password);
    const storage = await buildahStorage(env);
    let auth;
    const work = await (0,promises_.mkdtemp)(external_node_path_.join(req.tmpDir ?? external_node_os_.tmpdir(), 'c2c-build-'));
    const manifestName = `localhost/c2c-build-${external_node_path_.basename(work).toLowerCase()}`;
    try {
        if (req.targets.some(builder_auth/* hasCredentials */.Lk))
            auth = await (0,builder_auth/* writeAuthFile */.Yt)(req.targets, {
                mergeFrom: (0,builder_auth/* defaultContainersAuthFiles */.rQ)(env),
                ...(req.tmpDir ? { tmpDir: req.tmpDir } : {}),
            });
        const regConf = await (0,builder_auth/* registriesConfText */.db)(req.targets, env);
        if (regConf) {
            const confPath = external_node_path_.join(work, 'registries.conf');
            await (0,promises_.writeFile)(confPath, regConf, { mode: 0o600 });
            env.CONTAINERS_REGISTRIES_CONF = confPath;
        }
        const files = {
            ...(auth ? { authFile: auth.path } : {}),
            iidFile: external_node_path_.join(work, 'iid'),
            digestFile: (i) => external_node_path_.join(work, `digest-${i}`),
            manifestName,
            secrets: await writeSecretSources(req.secrets ?? [], work),
        };
        const draft = buildahArgs(req, files, storage);
        logger.info(`buildah: building ${req.dockerfile} in ${req.context} ` +
            `(storage ${storage.driver ?? 'as configured'}, isolation ${storage.isolation})`);
        await (0,exec/* exec */.m0)('buildah', draft.build, {
            env,
            logger,
            stream: true,
            installHint: BUILDAH_INSTALL_HINT,
            displayArgs: displayBuildArgs(draft.build),
        });
        const imageId = draft.multiPlatform ? files.manifestName : (await (0,promises_.readFile)(files.iidFile, 'utf8')).trim();
        const commands = buildahArgs(req, files, storage, imageId);
        const digests = [];
        // This build's config digests, read once, and only when an immutable tag is asked about.
        let configs;
        const ours = () => (configs ??= draft.multiPlatform
            ? manifestListConfigs(storage, env, manifestName)
            : Promise.resolve([imageId]));
        for (const [i, push] of commands.pushes.entries()) {
            const target = targetFor((0,reference/* parseImageReference */.o_)(push.tag).registry, req.targets);
            const immutable = !!req.holding && (req.immutableTags ?? []).includes(push.tag);
            if (immutable) {
                const held = await heldBy(req, push.tag, await ours());
                if (held) {
                    logger.info(`buildah: not pushing ${push.tag}: the registry has it already, as ${held}`);
                    digests.push(held);
                    continue;
                }
            }
            logger.info(`buildah: pushing ${push.tag}`);
            try {
                await (0,retry/* retry */.L5)(`pushing ${push.tag}`, () => (0,exec/* exec */.m0)('buildah', push.args, { env, logger, stream: true, installHint: BUILDAH_INSTALL_HINT }), {
                    attempts: 3,
                    baseDelayMs: 1000,
                    deadlineMs: 5 * 60_000,
                    retryable: transientPushError,
                    onRetry: (_e, attempt, delay) => logger.warning(`Pushing ${push.tag} failed (attempt ${attempt}); retrying in ${delay} ms.`),
                });
            }
            catch (err) {
                // A registry that keeps tags (ECR IMMUTABLE) refused: another run pushed it meanwhile.
                if (immutable && refusedAsImmutable(err)) {
                    const held = await heldBy(req, push.tag, await ours());
                    if (held) {
                        logger.info(`buildah: ${push.tag} was pushed meanwhile by another run, as ${held}`);
                        digests.push(held);
                        continue;
                    }
                }
                throw explainPushError(err, push.tag, target);
            }
            digests.push(await readDigest(files.digestFile(i)));
        }
        const digest = digests[0];
        if (digests.some((d) => d !== digest))
            logger.warning(`The tags were pushed with different digests: ${digests.join(', ')}; reporting ${digest}.`);
        logger.info(`buildah: pushed ${req.tags.join(', ')} as ${digest}`);
        return { digest, builder: 'buildah', durationMs: Date.now() - start };
    }
    finally {
        // The local manifest list of a multi-platform build is ours alone (its name is unique).
        if ((req.platforms?.length ?? 0) > 1)
            await (0,exec/* exec */.m0)('buildah', [...buildahGlobalArgs(storage), 'manifest', 'rm', manifestName], {
                env,
                allowFailure: true,
            }).catch(() => undefined);
        await auth?.cleanup();
        await (0,promises_.rm)(work, { recursive: true, force: true });
    }
}

// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(73024);
;// CONCATENATED MODULE: ./lib/builder/docker.js







const DOCKER_INSTALL_HINT = 'install Docker Engine with the buildx plugin (https://docs.docker.com/engine/install/), or use the buildah builder (`apt-get install -y buildah`)';
/**
 * The `docker buildx build` command line for a validated request: a pure function. Credentials are
 * never on it; they reach buildx through DOCKER_CONFIG (config.json, 0600); secrets are named by id
 * and file (`--secret id=…,src=…`). Pushes with
 * `--push`, or an image output with registry.insecure=true when a target is a plain-http loopback
 * registry. No provenance attestation unless asked for, so one platform gives a plain manifest digest.
 */
function dockerArgs(req, files) {
    // buildx's default (min) provenance would make an index of every image: none unless asked for.
    const a = [
        'buildx',
        'build',
        '--progress',
        'plain',
        `--provenance=${req.attestations?.provenance ? 'mode=max' : 'false'}`,
    ];
    a.push('-f', req.dockerfile);
    for (const t of req.tags)
        a.push('--tag', t);
    for (const [k, v] of req.buildArgs ?? [])
        a.push('--build-arg', `${k}=${v}`);
    a.push(...secretArgs(req.secrets ?? [], files.secrets));
    if (req.target)
        a.push('--target', req.target);
    if (req.platforms?.length)
        a.push('--platform', req.platforms.join(','));
    for (const [k, v] of Object.entries(req.labels ?? {}))
        a.push('--label', `${k}=${v}`);
    // Manifest annotations; with several platforms the index carries them too.
    const annotationTypes = (req.platforms?.length ?? 0) > 1 ? 'manifest,index' : 'manifest';
    for (const [k, v] of Object.entries(req.annotations ?? {}))
        a.push('--annotation', `${annotationTypes}:${k}=${v}`);
    if (req.cacheRepository) {
        // mode=max caches every stage's layers; image-manifest + OCI media types: what ECR stores.
        const insecure = req.targets.some((t) => t.insecure) ? ',registry.insecure=true' : '';
        a.push('--cache-from', `type=registry,ref=${req.cacheRepository}:buildcache${insecure}`);
        a.push('--cache-to', `type=registry,ref=${req.cacheRepository}:buildcache,mode=max,image-manifest=true,oci-mediatypes=true${insecure}`);
    }
    // The `sbom` input: buildx's SBOM attestation, in the pushed index beside the image.
    if (req.attestations?.sbom)
        a.push('--sbom=true');
    if (req.targets.some((t) => t.insecure))
        a.push('--output', 'type=image,push=true,registry.insecure=true');
    else
        a.push('--push');
    a.push('--metadata-file', files.metadataFile);
    a.push(req.context);
    return a;
}
/**
 * A private DOCKER_CONFIG: the user's config.json (builders, contexts, credential helpers kept)
 * with our credentials added, and links to the user's buildx/, cli-plugins/ and contexts/ so that a
 * builder made by setup-buildx-action is still found.
 */
async function dockerConfigDir(req, env) {
    if (!req.targets.some(builder_auth/* hasCredentials */.Lk))
        return undefined;
    const original = env.DOCKER_CONFIG ?? external_node_path_.join(env.HOME ?? external_node_os_.homedir(), '.docker');
    const auth = await (0,builder_auth/* writeAuthFile */.Yt)(req.targets, {
        mergeFrom: [external_node_path_.join(original, 'config.json')],
        ...(req.tmpDir ? { tmpDir: req.tmpDir } : {}),
    });
    let cfg = {};
    try {
        cfg = JSON.parse(await (0,promises_.readFile)(external_node_path_.join(original, 'config.json'), 'utf8'));
    }
    catch {
        /* none */
    }
    const ours = JSON.parse(await (0,promises_.readFile)(auth.path, 'utf8'));
    const credHelpers = { ...(cfg.credHelpers ?? {}) };
    for (const t of req.targets)
        if ((0,builder_auth/* hasCredentials */.Lk)(t))
            delete credHelpers[t.host];
    const merged = { ...cfg, auths: ours.auths, credHelpers };
    // A credential store would override the file's auths for every host, ours included.
    if (merged.credsStore) {
        req.logger.debug('docker: the credential store of the user config is not used for this build');
        delete merged.credsStore;
    }
    await (0,promises_.writeFile)(auth.path, JSON.stringify(merged, null, 2) + '\n', { mode: 0o600 });
    for (const sub of ['buildx', 'cli-plugins', 'contexts']) {
        const from = external_node_path_.join(original, sub);
        if ((0,external_node_fs_.existsSync)(from))
            await (0,promises_.symlink)(from, external_node_path_.join(auth.dir, sub));
    }
    return auth;
}
/** Builds and pushes with docker buildx; the digest comes from the metadata file. */
async function dockerBuildAndPush(req) {
    const start = Date.now();
    const logger = req.logger;
    const env = { ...(req.env ?? process.env) };
    if (!(await (0,exec/* which */.K7)('docker', env.PATH)))
        throw new errors/* ToolMissingError */.hc('docker', DOCKER_INSTALL_HINT);
    for (const t of req.targets)
        if (t.password)
            logger.secret(t.password);
    if (req.timestamp !== undefined)
        env.SOURCE_DATE_EPOCH = String(Math.floor(req.timestamp));
    const work = await (0,promises_.mkdtemp)(external_node_path_.join(req.tmpDir ?? external_node_os_.tmpdir(), 'c2c-build-'));
    let auth;
    try {
        auth = await dockerConfigDir(req, env);
        if (auth)
            env.DOCKER_CONFIG = auth.dir;
        const files = {
            metadataFile: external_node_path_.join(work, 'metadata.json'),
            secrets: await writeSecretSources(req.secrets ?? [], work),
        };
        const args = dockerArgs(req, files);
        logger.info(`docker buildx: building ${req.dockerfile} in ${req.context}`);
        await (0,retry/* retry */.L5)('docker buildx build --push', () => (0,exec/* exec */.m0)('docker', args, {
            env,
            logger,
            stream: true,
            installHint: DOCKER_INSTALL_HINT,
            displayArgs: displayBuildArgs(args),
        }), {
            attempts: 2,
            baseDelayMs: 2000,
            deadlineMs: 10 * 60_000,
            retryable: (e) => e instanceof exec/* ExecError */.cI &&
                /failed to push|connection reset|i\/o timeout|\b50[234]\b|\b429\b/i.test(e.result.stderr) &&
                !/unauthorized|denied|forbidden/i.test(e.result.stderr),
        });
        const meta = JSON.parse(await (0,promises_.readFile)(files.metadataFile, 'utf8'));
        const digest = meta['containerimage.digest'];
        if (typeof digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(digest))
            throw new errors/* C2CError */.n$(`docker buildx wrote no image digest to its metadata file (${files.metadataFile}).`);
        logger.info(`docker buildx: pushed ${req.tags.join(', ')} as ${digest}`);
        return { digest, builder: 'docker', durationMs: Date.now() - start };
    }
    finally {
        await auth?.cleanup();
        await (0,promises_.rm)(work, { recursive: true, force: true });
    }
}

// EXTERNAL MODULE: ./lib/builder/validate.js
var validate = __webpack_require__(56065);
;// CONCATENATED MODULE: ./lib/builder/index.js











async function dockerAnswers(env, timeoutMs) {
    const info = await (0,exec/* exec */.m0)('docker', ['info', '--format', '{{.ServerVersion}}'], {
        env,
        allowFailure: true,
        timeoutMs,
    }).catch((e) => ({ code: -1, stdout: '', stderr: e.message }));
    if (info.code !== 0 || !info.stdout.trim()) {
        const why = info.code === 128 || info.code === 137
            ? `did not answer within ${timeoutMs} ms`
            : (info.stderr.trim().split('\n').pop() ?? 'no answer');
        return { ok: false, why: `the Docker daemon is not reachable (${why})` };
    }
    const bx = await (0,exec/* exec */.m0)('docker', ['buildx', 'version'], { env, allowFailure: true, timeoutMs }).catch(() => ({
        code: -1,
    }));
    if (bx.code !== 0)
        return { ok: false, why: 'the docker buildx plugin is not installed' };
    return { ok: true, why: `Docker ${info.stdout.trim()} with buildx` };
}
/**
 * Which builder to use. `auto`: docker when its daemon answers (`docker info`, bounded) and buildx is
 * there, else buildah. An explicitly chosen builder that cannot run is an error naming what is
 * missing and how to install it (ToolMissingError).
 */
async function resolveBuilder(choice, logger, opts = {}) {
    const env = opts.env ?? process.env;
    const timeoutMs = opts.probeTimeoutMs ?? 5_000;
    if (choice === 'buildah') {
        if (!(await (0,exec/* which */.K7)('buildah', env.PATH)))
            throw new errors/* ToolMissingError */.hc('buildah', BUILDAH_INSTALL_HINT);
        return 'buildah';
    }
    const hasDocker = !!(await (0,exec/* which */.K7)('docker', env.PATH));
    if (choice === 'docker') {
        if (!hasDocker)
            throw new errors/* ToolMissingError */.hc('docker', DOCKER_INSTALL_HINT);
        const probe = await dockerAnswers(env, timeoutMs);
        if (!probe.ok) {
            if (probe.why.includes('buildx'))
                throw new errors/* ToolMissingError */.hc('docker buildx', DOCKER_INSTALL_HINT);
            throw new errors/* C2CError */.n$(`The docker builder was chosen but ${probe.why}. Start Docker, or use the buildah builder.`);
        }
        return 'docker';
    }
    if (choice !== 'auto')
        throw new errors/* C2CError */.n$(`Unknown builder '${String(choice)}'. Expected auto, docker or buildah.`);
    if (hasDocker) {
        const probe = await dockerAnswers(env, timeoutMs);
        if (probe.ok) {
            logger.info(`builder auto: docker (${probe.why})`);
            return 'docker';
        }
        logger.info(`builder auto: buildah, since ${probe.why}`);
    }
    else
        logger.info('builder auto: buildah, since docker is not installed');
    if (!(await (0,exec/* which */.K7)('buildah', env.PATH)))
        throw new errors/* ToolMissingError */.hc('buildah', `${BUILDAH_INSTALL_HINT}; or install Docker with buildx and start its daemon (builder: auto found neither)`);
    return 'buildah';
}
/**
 * Validates the request (context, dockerfile, tags, args, targets: nothing runs when one is wrong),
 * then builds and pushes to every tag with the given builder. Credentials reach the builder only
 * through a private 0600 auth file, secret values through private 0600 files, all removed
 * afterwards; the builder's output is streamed to the logger, which masks the passwords, the
 * secrets and the values of build args whose names look secret (each of those with a warning).
 */
async function buildAndPush(req, builder) {
    const valid = await (0,validate/* validateBuildRequest */.ow)(req);
    await registerBuildSecrets(valid, valid.logger);
    if (builder === 'buildah')
        return buildahBuildAndPush(valid);
    if (builder === 'docker')
        return dockerBuildAndPush(valid);
    throw new errors/* C2CError */.n$(`Unknown builder '${String(builder)}'. Expected docker or buildah.`);
}




/***/ }),

/***/ 91354:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   K7: () => (/* binding */ which),
/* harmony export */   cI: () => (/* binding */ ExecError),
/* harmony export */   m0: () => (/* binding */ exec)
/* harmony export */ });
/* unused harmony export formatCommand */
/* harmony import */ var node_child_process__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(31421);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(51455);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(76760);
/* harmony import */ var node_string_decoder__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(46193);
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(3828);





class ExecError extends _errors_js__WEBPACK_IMPORTED_MODULE_4__/* .C2CError */ .n$ {
    result;
    name = 'ExecError';
    /** The command line as shown: displayArgs, masked. */
    command;
    constructor(command, result, opts = {}) {
        const mask = opts.mask ?? ((t) => t);
        const tail = (result.stderr || result.stdout).trim().split('\n').slice(-15).join('\n');
        super(mask(result.timedOut
            ? `${command} did not finish within ${opts.timeoutMs ?? '?'} ms and was stopped`
            : `${command} exited with code ${result.code}${tail ? `:\n${tail}` : ''}`));
        this.result = result;
        this.command = mask(command);
    }
}
async function which(cmd, envPath = process.env.PATH ?? '') {
    if (cmd.includes('/')) {
        try {
            await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.access)(cmd, node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.constants.X_OK);
            return cmd;
        }
        catch {
            return null;
        }
    }
    for (const dir of envPath.split(node_path__WEBPACK_IMPORTED_MODULE_2__.delimiter)) {
        if (!dir)
            continue;
        const p = node_path__WEBPACK_IMPORTED_MODULE_2__.join(dir, cmd);
        try {
            await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.access)(p, node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.constants.X_OK);
            return p;
        }
        catch {
            /* next */
        }
    }
    return null;
}
/** A command line for people to read (debug lines, errors): arguments quoted where a shell would need it. */
function formatCommand(cmd, args) {
    const quote = (a) => a === '' || /[\s'"\\$`;&|<>()]/.test(a) ? `'${a.replace(/'/g, `'\\''`)}'` : a;
    return [cmd, ...args].map(quote).join(' ');
}
/** Calls onLine for each complete line of what is written; flush() ends the last one. */
function lineSplitter(onLine) {
    let buf = '';
    return {
        write(text) {
            buf += text;
            const parts = buf.split('\n');
            buf = parts.pop() ?? '';
            for (const l of parts)
                if (l.length)
                    onLine(l.replace(/\r$/, ''));
        },
        flush() {
            if (buf.length)
                onLine(buf.replace(/\r$/, ''));
            buf = '';
        },
    };
}
/** How long to wait, once the program has exited, for its output to end (a grandchild may hold it). */
const STDIO_GRACE_MS = 10_000;
/** How long to wait, once a program that timed out was killed, before giving up on it. */
const KILL_GRACE_MS = 2_000;
async function exec(cmd, args, opts = {}) {
    const env = opts.env ?? process.env;
    const logger = opts.logger;
    const mask = (text) => logger?.mask?.(text) ?? text;
    const shown = formatCommand(cmd, opts.displayArgs ?? args);
    logger?.debug(shown);
    // The program is looked up on the PATH it will run with, not on this process's.
    const file = await which(cmd, env.PATH ?? '');
    if (!file)
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_4__/* .ToolMissingError */ .hc(cmd, opts.installHint ?? `install ${cmd}`);
    const resolved = node_path__WEBPACK_IMPORTED_MODULE_2__.resolve(opts.cwd ?? process.cwd(), file);
    const decoders = { out: new node_string_decoder__WEBPACK_IMPORTED_MODULE_3__.StringDecoder('utf8'), err: new node_string_decoder__WEBPACK_IMPORTED_MODULE_3__.StringDecoder('utf8') };
    let stdout = '';
    let stderr = '';
    const outLines = lineSplitter((l) => logger?.info(l));
    const errLines = lineSplitter((l) => logger?.info(l));
    const timers = [];
    let timedOut = false;
    try {
        const ended = await new Promise((resolve) => {
            const child = (0,node_child_process__WEBPACK_IMPORTED_MODULE_0__.spawn)(resolved, [...args], {
                ...(opts.cwd ? { cwd: opts.cwd } : {}),
                env,
                stdio: ['pipe', 'pipe', 'pipe'],
            });
            child.on('error', (error) => resolve({ error }));
            child.stdout.on('data', (d) => {
                const t = decoders.out.write(d);
                stdout += t;
                if (opts.stream)
                    outLines.write(t);
            });
            child.stderr.on('data', (d) => {
                const t = decoders.err.write(d);
                stderr += t;
                if (opts.stream)
                    errLines.write(t);
            });
            // A program may exit without reading all its input: the broken pipe is not an error of ours.
            child.stdin.on('error', () => undefined);
            // Always end stdin (an empty input included), so a program that reads it does not wait forever.
            child.stdin.end(opts.input ?? '');
            // 'close' comes when the program has exited and its output has ended. A grandchild that keeps
            // the output open (a daemon it started) is not waited for longer than STDIO_GRACE_MS.
            child.on('close', (code) => resolve({ code }));
            child.on('exit', (code) => {
                timers.push(setTimeout(() => {
                    child.stdout.destroy();
                    child.stderr.destroy();
                    resolve({ code });
                }, STDIO_GRACE_MS));
            });
            if (opts.timeoutMs)
                timers.push(setTimeout(() => {
                    timedOut = true;
                    child.kill('SIGKILL');
                    // Killed, it ends at once; should it not (a grandchild holding its output open), stop waiting.
                    timers.push(setTimeout(() => resolve({ code: null }), KILL_GRACE_MS));
                }, opts.timeoutMs));
        });
        if ('error' in ended) {
            const e = ended.error;
            if (e.code === 'ENOENT')
                throw new _errors_js__WEBPACK_IMPORTED_MODULE_4__/* .ToolMissingError */ .hc(cmd, opts.installHint ?? `install ${cmd}`);
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_4__/* .C2CError */ .n$(mask(`${shown} could not be started: ${e.message}`), { cause: e });
        }
        stdout += decoders.out.end();
        stderr += decoders.err.end();
        if (opts.stream) {
            outLines.flush();
            errLines.flush();
        }
        // A null exit code: ended by a signal (SIGKILL when it timed out).
        const code = timedOut ? 137 : (ended.code ?? 128);
        const result = { code, stdout, stderr, ...(timedOut ? { timedOut } : {}) };
        if (code !== 0 && !opts.allowFailure)
            throw new ExecError(shown, result, { mask, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) });
        return result;
    }
    finally {
        for (const t of timers)
            clearTimeout(t);
    }
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


/***/ })

};
