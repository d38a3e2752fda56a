export const id = 561;
export const ids = [561];
export const modules = {

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

/***/ 89561:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  BUNDLE_MEDIA_TYPE: () => (/* reexport */ BUNDLE_MEDIA_TYPE),
  COSIGN_SIGN_PREDICATE: () => (/* reexport */ COSIGN_SIGN_PREDICATE),
  GITHUB_ISSUER: () => (/* reexport */ GITHUB_ISSUER),
  IN_TOTO_MEDIA_TYPE: () => (/* reexport */ IN_TOTO_MEDIA_TYPE),
  KEYLESS: () => (/* reexport */ KEYLESS),
  SLSA_PREDICATE: () => (/* reexport */ SLSA_PREDICATE),
  SPDX_MEDIA_TYPE: () => (/* reexport */ SPDX_MEDIA_TYPE),
  SPDX_PREDICATE: () => (/* reexport */ SPDX_PREDICATE),
  SYFT_INSTALL_HINT: () => (/* reexport */ SYFT_INSTALL_HINT),
  artifactContent: () => (/* reexport */ artifactContent),
  attach: () => (/* reexport */ attach),
  attestImage: () => (/* reexport */ attestImage),
  attestPushed: () => (/* reexport */ attestPushed),
  buildFacts: () => (/* reexport */ buildFacts),
  checkBundle: () => (/* reexport */ checkBundle),
  checkSignature: () => (/* reexport */ checkSignature),
  keyHint: () => (/* reexport */ keyHint),
  loadSigner: () => (/* reexport */ loadSigner),
  loadVerifier: () => (/* reexport */ loadVerifier),
  readAttest: () => (/* reexport */ readAttest),
  readVerifyKey: () => (/* reexport */ readVerifyKey),
  referrersOf: () => (/* reexport */ referrersOf),
  referrersTag: () => (/* reexport */ referrersTag),
  signStatement: () => (/* reexport */ signStatement),
  signatureProblem: () => (/* reexport */ signatureProblem),
  statementFor: () => (/* reexport */ statementFor),
  syftFor: () => (/* reexport */ syftFor)
});

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(77598);
// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(73024);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(76760);
// EXTERNAL MODULE: ./lib/core/errors.js
var errors = __webpack_require__(3828);
;// CONCATENATED MODULE: ./lib/supplychain/keys.js




const KMS_PREFIX = 'awskms://';
/** The longest message AWS KMS Sign takes whole (MessageType RAW). */
const KMS_RAW_MAX = 4096;
/** The key hint of a bundle's verificationMaterial (cosign: base64 SHA-256 of the DER public key). */
async function keyHint(k) {
    return (0,external_node_crypto_.createHash)('sha256')
        .update(await k.publicKeyDer())
        .digest('base64');
}
/** The PEM text of a source that is not KMS: the value itself, an environment variable, or a file. */
function pemOf(src) {
    const v = src.value.trim();
    if (v.startsWith('-----BEGIN'))
        return v;
    if (v.startsWith('env://')) {
        const name = v.slice('env://'.length);
        const text = (src.env ?? process.env)[name];
        if (!text?.trim())
            throw new errors/* InputError */.dz(src.input, `the environment variable ${name} is empty or not set`, `a PEM key in ${name}`);
        return text.trim();
    }
    const file = external_node_path_.resolve(src.workspace, v);
    try {
        if (!(0,external_node_fs_.statSync)(file).isFile())
            throw new Error('not a file');
        return (0,external_node_fs_.readFileSync)(file, 'utf8').trim();
    }
    catch {
        throw new errors/* InputError */.dz(src.input, `'${v.length > 80 ? `${v.slice(0, 40)}…` : v}' is not a PEM key, an env:// or awskms:// reference, or a file (looked for ${file})`, "a PEM key (e.g. '${{ secrets.COSIGN_PRIVATE_KEY }}'), env://NAME, a path relative to the workspace, or awskms:///alias/NAME");
    }
}
/** cosign's encrypted private key: scrypt for the key, NaCl secretbox for the PKCS#8 DER inside. */
async function decryptCosignKey(pem, password, input) {
    const body = pem
        .replace(/-----(BEGIN|END) ENCRYPTED (SIGSTORE|COSIGN) PRIVATE KEY-----/g, '')
        .replace(/\s+/g, '');
    let doc;
    try {
        doc = JSON.parse(Buffer.from(body, 'base64').toString('utf8'));
    }
    catch {
        throw new errors/* InputError */.dz(input, 'is an encrypted cosign key that cannot be read', 'the file cosign generate-key-pair wrote');
    }
    const { kdf, cipher } = doc;
    if (kdf?.name !== 'scrypt' ||
        cipher?.name !== 'nacl/secretbox' ||
        !kdf.salt ||
        !cipher.nonce ||
        !doc.ciphertext)
        throw new errors/* InputError */.dz(input, `is an encrypted key of a kind this action does not read (kdf ${kdf?.name}, cipher ${cipher?.name})`, 'a key made by cosign generate-key-pair (scrypt, nacl/secretbox), or a PKCS#8 PEM');
    const { N = 65536, r = 8, p = 1 } = kdf.params ?? {};
    const key = (0,external_node_crypto_.scryptSync)(Buffer.from(password, 'utf8'), Buffer.from(kdf.salt, 'base64'), 32, {
        N,
        r,
        p,
        maxmem: 256 * N * r + 1024 * 1024,
    });
    const { xsalsa20poly1305 } = await __webpack_require__.e(/* import() */ 382).then(__webpack_require__.bind(__webpack_require__, 46382));
    let der;
    try {
        der = xsalsa20poly1305(new Uint8Array(key), new Uint8Array(Buffer.from(cipher.nonce, 'base64'))).decrypt(new Uint8Array(Buffer.from(doc.ciphertext, 'base64')));
    }
    catch {
        throw new errors/* InputError */.dz(input, 'is an encrypted cosign key, and the password does not open it', "the key's password in 'sign-key-password' (or COSIGN_PASSWORD)");
    }
    return (0,external_node_crypto_.createPrivateKey)({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
}
/** Signs data as cosign does for the key's type: ECDSA and RSA over SHA-256 (P-384: SHA-384), Ed25519 pure. */
function hashFor(key) {
    if (key.asymmetricKeyType === 'ed25519')
        return null;
    if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'secp384r1')
        return 'sha384';
    return 'sha256';
}
/** The key's algorithm, for messages: `ECDSA prime256v1`, `ed25519`, `rsa`. */
function keyType(key) {
    return key.asymmetricKeyType === 'ec'
        ? `ECDSA ${key.asymmetricKeyDetails?.namedCurve}`
        : String(key.asymmetricKeyType);
}
function checkKeyType(key, input) {
    if (!['ec', 'ed25519', 'rsa'].includes(key.asymmetricKeyType ?? ''))
        throw new errors/* InputError */.dz(input, `is a ${key.asymmetricKeyType} key`, 'an ECDSA (P-256, P-384), Ed25519 or RSA key');
}
/** The signer of `sign-key`. */
async function loadSigner(src) {
    if (src.value.trim().startsWith(KMS_PREFIX))
        return kmsKey(src.value.trim(), src.input);
    const pem = pemOf(src);
    let key;
    if (/-----BEGIN ENCRYPTED (SIGSTORE|COSIGN) PRIVATE KEY-----/.test(pem)) {
        const password = src.password ?? (src.env ?? process.env).COSIGN_PASSWORD ?? '';
        key = await decryptCosignKey(pem, password, src.input);
    }
    else {
        try {
            key = (0,external_node_crypto_.createPrivateKey)(pem);
        }
        catch (e) {
            throw new errors/* InputError */.dz(src.input, `is not a private key this action reads (${(0,errors/* errorMessage */.gJ)(e).split('\n')[0]})`, 'a cosign key (cosign generate-key-pair), a PKCS#8 or SEC1 PEM private key, or awskms:///…');
        }
    }
    checkKeyType(key, src.input);
    const pub = (0,external_node_crypto_.createPublicKey)(key).export({ format: 'der', type: 'spki' });
    return {
        describe: `a ${keyType(key)} key`,
        publicKeyDer: async () => pub,
        sign: async (data) => (0,external_node_crypto_.sign)(hashFor(key), data, key),
    };
}
/** The verifier of `verify-key`: a public key (or a private one, whose public half is used), or KMS. */
async function loadVerifier(src) {
    if (src.value.trim().startsWith(KMS_PREFIX))
        return kmsKey(src.value.trim(), src.input);
    const pem = pemOf(src);
    let key;
    try {
        key = (0,external_node_crypto_.createPublicKey)(pem);
    }
    catch (e) {
        throw new errors/* InputError */.dz(src.input, `is not a public key this action reads (${(0,errors/* errorMessage */.gJ)(e).split('\n')[0]})`, 'a PEM public key (cosign.pub), or awskms:///…');
    }
    checkKeyType(key, src.input);
    const der = key.export({ format: 'der', type: 'spki' });
    return {
        describe: `a ${keyType(key)} public key`,
        publicKeyDer: async () => der,
        verify: async (data, sig) => {
            try {
                return (0,external_node_crypto_.verify)(hashFor(key), data, key, sig);
            }
            catch {
                return false;
            }
        },
    };
}
/**
 * An AWS KMS asymmetric key (KeyUsage SIGN_VERIFY): signs with Sign (the digest, computed here),
 * verifies with the public key GetPublicKey gives (read once). The AWS SDK's default credentials and
 * region (AWS_REGION), as everywhere in the suite.
 */
function kmsKey(ref, input) {
    const rest = ref.slice(KMS_PREFIX.length);
    const slash = rest.indexOf('/');
    const endpoint = slash > 0 ? rest.slice(0, slash) : '';
    const keyId = slash >= 0 ? rest.slice(slash + 1) : rest;
    if (!keyId)
        throw new errors/* InputError */.dz(input, `'${ref}' names no key`, 'awskms:///<key id>, awskms:///alias/<name> or awskms:///<key ARN>');
    // A key ARN names its region; an id or alias goes to the SDK's (AWS_REGION).
    const region = /^arn:aws[\w-]*:kms:([\w-]+):/.exec(keyId)?.[1];
    let client;
    const kms = () => (client ??= Promise.all(/* import() */[__webpack_require__.e(861), __webpack_require__.e(632)]).then(__webpack_require__.t.bind(__webpack_require__, 92632, 19)).then((sdk) => ({
        sdk,
        kms: new sdk.KMSClient({
            ...(endpoint ? { endpoint: `https://${endpoint}` } : {}),
            ...(region ? { region } : {}),
        }),
    })));
    let info;
    const publicKey = () => (info ??= kms().then(async ({ kms: c, sdk }) => {
        try {
            const out = await c.send(new sdk.GetPublicKeyCommand({ KeyId: keyId }));
            const der = Buffer.from(out.PublicKey ?? []);
            return {
                der,
                spec: String(out.KeySpec ?? ''),
                key: (0,external_node_crypto_.createPublicKey)({ key: der, format: 'der', type: 'spki' }),
            };
        }
        catch (e) {
            throw new errors/* C2CError */.n$(`AWS KMS: could not read the public key of ${keyId} (GetPublicKey): ${(0,errors/* errorMessage */.gJ)(e)}`, {
                cause: e,
            });
        }
    }));
    // From the key itself (not the KeySpec field, which some KMS stand-ins leave out).
    const algorithm = (key) => key.asymmetricKeyType === 'rsa'
        ? { alg: 'RSASSA_PKCS1_V1_5_SHA_256', hash: 'sha256' }
        : key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
            ? { alg: 'ECDSA_SHA_256', hash: 'sha256' }
            : key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'secp384r1'
                ? { alg: 'ECDSA_SHA_384', hash: 'sha384' }
                : undefined;
    return {
        describe: `the AWS KMS key ${keyId}`,
        publicKeyDer: async () => (await publicKey()).der,
        async sign(data) {
            const { key, spec } = await publicKey();
            const a = algorithm(key);
            if (!a)
                throw new errors/* C2CError */.n$(`AWS KMS key ${keyId} is a ${spec} key: signing needs ECC_NIST_P256, ECC_NIST_P384 or RSA`);
            const { kms: c, sdk } = await kms();
            try {
                const out = await c.send(new sdk.SignCommand({
                    KeyId: keyId,
                    // KMS signs a message of up to 4096 bytes itself (RAW); a longer one (an SBOM's
                    // envelope) as its digest (DIGEST), computed here.
                    ...(data.length <= KMS_RAW_MAX
                        ? { Message: data, MessageType: 'RAW' }
                        : { Message: (0,external_node_crypto_.createHash)(a.hash).update(data).digest(), MessageType: 'DIGEST' }),
                    SigningAlgorithm: a.alg,
                }));
                return Buffer.from(out.Signature ?? []);
            }
            catch (e) {
                throw new errors/* C2CError */.n$(`AWS KMS: could not sign with ${keyId} (Sign): ${(0,errors/* errorMessage */.gJ)(e)}`, { cause: e });
            }
        },
        async verify(data, sig) {
            const { key } = await publicKey();
            const a = algorithm(key);
            try {
                return !!a && (0,external_node_crypto_.verify)(a.hash, data, key, sig);
            }
            catch {
                return false;
            }
        },
    };
}

;// CONCATENATED MODULE: ./lib/supplychain/bundle.js

/**
 * Sigstore bundles (v0.3) holding a DSSE envelope of an in-toto statement about one image digest:
 * the form `cosign sign` (v3) writes for a signature (predicate type
 * https://sigstore.dev/cosign/sign/v1, empty predicate) and `cosign attest` for an attestation (an
 * SBOM, a provenance). Key-based: the verification material is the key's hint; no transparency-log
 * entry (cosign verifies it with `--insecure-ignore-tlog=true`; see the README for why and for
 * keyless signing, which logs).
 */
const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
/** What `cosign sign` signs: the statement that the key's holder signed this image. */
const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
/** The statement about one image digest (sha256:…). */
function statementFor(digest, predicateType, predicate = {}) {
    return {
        _type: STATEMENT_TYPE,
        subject: [{ digest: { sha256: digest.replace(/^sha256:/, '') }, annotations: {} }],
        predicateType,
        predicate,
    };
}
/** DSSE's pre-authentication encoding: what is signed (not the payload alone). */
function pae(payloadType, payload) {
    const type = Buffer.from(payloadType, 'utf8');
    return Buffer.concat([
        Buffer.from(`DSSEv1 ${type.length} `, 'utf8'),
        type,
        Buffer.from(` ${payload.length} `, 'utf8'),
        payload,
    ]);
}
async function signStatement(statement, signer) {
    const payload = Buffer.from(JSON.stringify(statement), 'utf8');
    const sig = await signer.sign(pae(IN_TOTO_PAYLOAD_TYPE, payload));
    return {
        mediaType: BUNDLE_MEDIA_TYPE,
        verificationMaterial: { publicKey: { hint: await keyHint(signer) } },
        dsseEnvelope: {
            payload: payload.toString('base64'),
            payloadType: IN_TOTO_PAYLOAD_TYPE,
            signatures: [{ sig: sig.toString('base64') }],
        },
    };
}
/**
 * Whether a bundle is a valid signature by the key over a statement about `digest` with this
 * predicate type: undefined when it is, else why not (for the refusal's message).
 */
async function checkBundle(bundle, verifier, digest, predicateType = COSIGN_SIGN_PREDICATE) {
    const env = bundle.dsseEnvelope;
    if (!env)
        return 'not a DSSE envelope (a message signature, or keyless: not by this key)';
    if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE)
        return `payload type ${env.payloadType}, not an in-toto statement`;
    const payload = Buffer.from(env.payload, 'base64');
    const signed = pae(env.payloadType, payload);
    let ok = false;
    for (const s of env.signatures ?? [])
        if (await verifier.verify(signed, Buffer.from(s.sig, 'base64'))) {
            ok = true;
            break;
        }
    if (!ok)
        return `no signature in it verifies with ${verifier.describe}`;
    return statementOf(bundle, digest, predicateType);
}
/** Undefined when the bundle's statement is about `digest` with this predicate type, else why not. */
function statementOf(bundle, digest, predicateType) {
    let st;
    try {
        st = JSON.parse(Buffer.from(bundle.dsseEnvelope?.payload ?? '', 'base64').toString('utf8'));
    }
    catch {
        return 'its payload is not JSON';
    }
    if (st.predicateType !== predicateType)
        return `a statement of type ${st.predicateType}, not ${predicateType}`;
    const hex = digest.replace(/^sha256:/, '');
    if (!st.subject?.some((s) => s.digest?.sha256 === hex))
        return `signed for ${st.subject?.map((s) => `sha256:${s.digest?.sha256}`).join(', ')}, not ${digest}`;
    return undefined;
}

// EXTERNAL MODULE: ./lib/registry/media-types.js
var media_types = __webpack_require__(77103);
// EXTERNAL MODULE: ./lib/registry/client.js + 3 modules
var client = __webpack_require__(22710);
;// CONCATENATED MODULE: ./lib/supplychain/referrers.js

/**
 * OCI 1.1 referrers: an artifact (a signature bundle, an SBOM, a provenance statement) stored as an
 * image manifest whose `subject` is the image it is about. A registry with the referrers API (ECR,
 * Harbor, distribution 3, zot) lists it by itself; for one without (distribution 2.x, the registry the
 * tests start), the spec's fallback: an index under the tag `sha256-<hex>` of the subject, which the
 * writer keeps (read, append, put). cosign v3 reads and writes both.
 */
const EMPTY_CONFIG = { mediaType: 'application/vnd.oci.empty.v1+json', data: '{}' };
/** The referrers tag of a digest (the fallback schema). */
function referrersTag(digest) {
    return digest.replace(':', '-');
}
/** Stores `content` as an artifact of `artifactType` that refers to `subject`; returns its digest. */
async function attach(reg, subject, artifactType, content, annotations = {}) {
    const { repository } = subject;
    const config = Buffer.from(EMPTY_CONFIG.data, 'utf8');
    const [configDigest, layerDigest] = await Promise.all([
        reg.pushBlob(repository, config),
        reg.pushBlob(repository, content),
    ]);
    const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: media_types/* OCI_MANIFEST */.EG,
        artifactType,
        config: { mediaType: EMPTY_CONFIG.mediaType, digest: configDigest, size: config.length },
        layers: [{ mediaType: artifactType, digest: layerDigest, size: content.length }],
        subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
        ...(Object.keys(annotations).length ? { annotations } : {}),
    });
    const { digest, indexed } = await reg.putReferrer(repository, manifest, media_types/* OCI_MANIFEST */.EG);
    if (!indexed) {
        const tag = referrersTag(subject.digest);
        const existing = await fallbackIndex(reg, repository, subject.digest);
        if (!existing.some((m) => m.digest === digest)) {
            const entry = {
                mediaType: media_types/* OCI_MANIFEST */.EG,
                digest,
                size: Buffer.byteLength(manifest),
                artifactType,
                ...(Object.keys(annotations).length ? { annotations } : {}),
            };
            await reg.putManifest(repository, tag, JSON.stringify({ schemaVersion: 2, mediaType: media_types/* OCI_INDEX */.$p, manifests: [...existing, entry] }), media_types/* OCI_INDEX */.$p);
        }
    }
    return digest;
}
async function fallbackIndex(reg, repository, digest) {
    const tag = referrersTag(digest);
    if (!(await reg.head(repository, tag)))
        return [];
    const { json } = await reg.getManifest(repository, tag);
    return Array.isArray(json?.manifests) ? json.manifests : [];
}
/** The referrers of a digest, of one artifact type: from the referrers API, else the fallback tag. */
async function referrersOf(reg, repository, digest, artifactType) {
    const listed = (await reg.referrers(repository, digest)) ?? (await fallbackIndex(reg, repository, digest));
    return listed.filter((m) => m.artifactType === artifactType);
}
/** The content of an artifact (its one layer), checked against the digests it is stored by. */
async function artifactContent(reg, repository, digest) {
    const { json } = await reg.getManifest(repository, digest);
    const layer = json?.layers?.[0];
    if (!layer?.digest)
        return Buffer.alloc(0);
    const blob = await reg.getBlob(repository, String(layer.digest));
    if ((0,client/* digestOf */.ol)(blob) !== layer.digest)
        return Buffer.alloc(0);
    return blob;
}

// EXTERNAL MODULE: ./lib/core/exec.js
var exec = __webpack_require__(91354);
// EXTERNAL MODULE: ./lib/images/reference.js
var reference = __webpack_require__(41403);
;// CONCATENATED MODULE: ./lib/supplychain/keyless.js


/**
 * Keyless signing and verification by identity, against Sigstore's public instance, with
 * sigstore-js (the Sigstore project's own client, loaded only when asked for):
 * - `sign-key: sigstore`: the job's GitHub OIDC token (permissions `id-token: write`) is exchanged at
 *   Fulcio (fulcio.sigstore.dev) for a short-lived certificate naming the workflow, the statement is
 *   signed with an ephemeral key, and the signature is logged in Rekor (rekor.sigstore.dev): the
 *   bundle carries the certificate and the log entry, as `cosign sign` (keyless) writes it.
 * - `verify-identity` (+ `verify-issuer`): the bundle's certificate must chain to Sigstore's root
 *   (fetched through TUF), its log entry must verify, and its identity (the workflow's URI, e.g.
 *   https://github.com/acme/shop/.github/workflows/deploy.yml@refs/heads/main) and issuer must be
 *   the ones given.
 * The tests cannot reach Sigstore: they run the key-based path; the README says so.
 */
const KEYLESS = 'sigstore';
const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
/** `sign-key: sigstore`: checked before anything is built (the OIDC token must be obtainable). */
function keylessSigner(env = process.env) {
    if (!env.ACTIONS_ID_TOKEN_REQUEST_URL || !env.ACTIONS_ID_TOKEN_REQUEST_TOKEN)
        throw new errors/* InputError */.dz('sign-key', "is 'sigstore' (keyless), but this job has no GitHub OIDC token to sign with", "'permissions: id-token: write' in the workflow (and a run on GitHub Actions), or a key");
    return { keyless: true, describe: 'Sigstore keyless (GitHub OIDC, Fulcio, Rekor)' };
}
async function keylessSign(statement) {
    const { attest } = await Promise.all(/* import() */[__webpack_require__.e(759), __webpack_require__.e(267)]).then(__webpack_require__.t.bind(__webpack_require__, 94267, 19));
    return (await attest(Buffer.from(JSON.stringify(statement), 'utf8'), IN_TOTO_PAYLOAD_TYPE));
}
/** Undefined when the bundle verifies for the identity and is about `digest` with this predicate. */
async function keylessCheck(bundle, v, digest, predicateType) {
    const { verify } = await Promise.all(/* import() */[__webpack_require__.e(759), __webpack_require__.e(267)]).then(__webpack_require__.t.bind(__webpack_require__, 94267, 19));
    try {
        await verify(bundle, { certificateIdentityURI: v.identity, certificateIssuer: v.issuer });
    }
    catch (e) {
        return `not by ${v.describe}: ${(0,errors/* errorMessage */.gJ)(e)}`;
    }
    return statementOf(bundle, digest, predicateType);
}

;// CONCATENATED MODULE: ./lib/supplychain/images.js






/** SPDX 2.3 JSON, as syft writes it (`-o spdx-json`), and its predicate type in an attestation. */
const SPDX_MEDIA_TYPE = 'application/spdx+json';
const SPDX_PREDICATE = 'https://spdx.dev/Document';
/** SLSA provenance v1 (https://slsa.dev/spec/v1.0/provenance) as an in-toto statement. */
const SLSA_PREDICATE = 'https://slsa.dev/provenance/v1';
const IN_TOTO_MEDIA_TYPE = 'application/vnd.in-toto+json';
/**
 * The provenance facts of one build, from what the caller knows: who ran it (the run's URL, else c2c
 * on this host), the source, the build's inputs (argument names only) and its base (the BASE_IMAGE
 * argument), timed by the build's duration up to `now`.
 */
function buildFacts(b) {
    return {
        builderId: b.runUrl ?? `c2c (${process.env.HOSTNAME ?? 'local'})`,
        ...(b.source ? { repository: b.source } : {}),
        ...(b.revision ? { commit: b.revision } : {}),
        dockerfile: external_node_path_.relative(b.contextDir, b.dockerfile) || b.dockerfile,
        context: b.context,
        ...(b.target ? { target: b.target } : {}),
        ...(b.platforms.length ? { platforms: b.platforms } : {}),
        buildArgNames: b.buildArgs.map(([k]) => k),
        baseImages: b.buildArgs.filter(([k]) => k === 'BASE_IMAGE').map(([, v]) => v),
        startedOn: new Date(b.now - b.durationMs).toISOString(),
        finishedOn: new Date(b.now).toISOString(),
    };
}
async function subjectOf(reg, repository, digest) {
    const info = await reg.head(repository, digest);
    if (!info)
        throw new errors/* C2CError */.n$(`${reg.host}/${repository}@${digest} is not in the registry: nothing to sign`);
    return { repository, digest, mediaType: info.mediaType, size: info.size };
}
/**
 * After a push: attaches the SBOM and the provenance (signed as attestations when there is a key,
 * else as plain statements) and the signature, each an OCI referrer of the image digest.
 */
async function attestImage(reg, repository, digest, o) {
    const subject = await subjectOf(reg, repository, digest);
    const ref = `${reg.host}/${repository}@${digest}`;
    const out = {};
    const signer = o.signer;
    const bundleOf = (predicateType, predicate = {}) => {
        const statement = statementFor(digest, predicateType, predicate);
        return 'keyless' in signer ? keylessSign(statement) : signStatement(statement, signer);
    };
    const put = async (predicateType, predicate, plainType, plain) => {
        if (signer) {
            const bundle = await bundleOf(predicateType, predicate);
            return attach(reg, subject, BUNDLE_MEDIA_TYPE, Buffer.from(JSON.stringify(bundle), 'utf8'), {
                'dev.sigstore.bundle.content': 'dsse-envelope',
                'dev.sigstore.bundle.predicateType': predicateType,
            });
        }
        return attach(reg, subject, plainType, plain);
    };
    if (o.sbom) {
        const spdx = await syftSbom(reg, ref, o.sbom, o.logger, o.env);
        out.sbom = await put(SPDX_PREDICATE, JSON.parse(spdx.toString('utf8')), SPDX_MEDIA_TYPE, spdx);
        o.logger.info(`${ref}: SBOM (SPDX, by syft) attached as ${out.sbom}${signer ? ', signed' : ''}`);
    }
    if (o.provenance) {
        const predicate = slsaPredicate(o.provenance, ref);
        const plain = Buffer.from(JSON.stringify(statementFor(digest, SLSA_PREDICATE, predicate)), 'utf8');
        out.provenance = await put(SLSA_PREDICATE, predicate, IN_TOTO_MEDIA_TYPE, plain);
        o.logger.info(`${ref}: SLSA provenance attached as ${out.provenance}${signer ? ', signed' : ''}`);
    }
    if (signer) {
        const bundle = await bundleOf(COSIGN_SIGN_PREDICATE);
        out.signature = await attach(reg, subject, BUNDLE_MEDIA_TYPE, Buffer.from(JSON.stringify(bundle), 'utf8'), {
            'dev.sigstore.bundle.content': 'dsse-envelope',
            'dev.sigstore.bundle.predicateType': COSIGN_SIGN_PREDICATE,
        });
        o.logger.info(`${ref}: signed with ${signer.describe} (Sigstore bundle ${out.signature})`);
    }
    return out;
}
function slsaPredicate(f, ref) {
    return {
        buildDefinition: {
            buildType: 'https://commit-to-cloud.dev/build/container/v1',
            externalParameters: {
                ...(f.repository
                    ? { source: { uri: f.repository, ...(f.commit ? { digest: { gitCommit: f.commit } } : {}) } }
                    : {}),
                dockerfile: f.dockerfile,
                context: f.context,
                ...(f.target ? { target: f.target } : {}),
                ...(f.platforms?.length ? { platforms: f.platforms } : {}),
                buildArgs: f.buildArgNames,
            },
            resolvedDependencies: [
                ...(f.repository && f.commit
                    ? [{ uri: `git+${f.repository}`, digest: { gitCommit: f.commit } }]
                    : []),
                ...(f.baseImages ?? []).map((b) => {
                    const at = b.indexOf('@sha256:');
                    return at > 0
                        ? { uri: `oci://${b.slice(0, at)}`, digest: { sha256: b.slice(at + 8) } }
                        : { uri: `oci://${b}` };
                }),
            ],
        },
        runDetails: {
            builder: { id: f.builderId },
            metadata: {
                ...(f.invocationId ? { invocationId: f.invocationId } : {}),
                startedOn: f.startedOn,
                finishedOn: f.finishedOn,
            },
            byproducts: [{ name: 'image', uri: `oci://${ref}` }],
        },
    };
}
/** syft's SPDX document of the pushed image, read from the registry. */
async function syftSbom(reg, ref, o, logger, env = process.env) {
    const creds = await reg.credentials();
    const r = await (0,exec/* exec */.m0)(o.syft, ['scan', `registry:${ref}`, '-o', 'spdx-json', '-q'], {
        logger,
        env: {
            ...env,
            SYFT_CHECK_FOR_APP_UPDATE: 'false',
            ...(reg.insecure && (0,reference/* isLoopbackHost */.cW)(reg.host) ? { SYFT_REGISTRY_INSECURE_USE_HTTP: 'true' } : {}),
            ...(creds
                ? {
                    SYFT_REGISTRY_AUTH_AUTHORITY: reg.endpointHost,
                    SYFT_REGISTRY_AUTH_USERNAME: creds.username,
                    SYFT_REGISTRY_AUTH_PASSWORD: creds.password,
                }
                : {}),
        },
        installHint: 'install syft (https://github.com/anchore/syft; on GitHub runners: uses: anchore/sbom-action/download-syft@v0)',
        timeoutMs: 15 * 60_000,
    });
    try {
        JSON.parse(r.stdout);
    }
    catch {
        throw new errors/* C2CError */.n$(`syft gave no SPDX JSON for ${ref}: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
    }
    return Buffer.from(r.stdout, 'utf8');
}
/** cosign v2's signatures: the tag sha256-<hex>.sig, one simple-signing layer per signature. */
const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
/**
 * Whether the image digest carries a valid signature by the key: a Sigstore bundle among its
 * referrers (cosign v3, this suite), or a cosign v2 signature under its `.sig` tag. Undefined when it
 * does, else what was found and why none counts.
 */
async function checkSignature(reg, repository, digest, verifier) {
    const why = [];
    const byIdentity = 'identity' in verifier;
    for (const m of await referrersOf(reg, repository, digest, BUNDLE_MEDIA_TYPE)) {
        const predicate = m.annotations?.['dev.sigstore.bundle.predicateType'];
        if (predicate && predicate !== COSIGN_SIGN_PREDICATE)
            continue; // an attestation, not a signature
        let bundle;
        try {
            bundle = JSON.parse((await artifactContent(reg, repository, m.digest)).toString('utf8'));
        }
        catch {
            why.push(`${m.digest}: not a bundle`);
            continue;
        }
        const bad = byIdentity
            ? await keylessCheck(bundle, verifier, digest, COSIGN_SIGN_PREDICATE)
            : await checkBundle(bundle, verifier, digest);
        if (!bad)
            return undefined;
        why.push(`bundle ${m.digest}: ${bad}`);
    }
    const legacy = `${digest.replace(':', '-')}.sig`;
    if (!byIdentity && (await reg.head(repository, legacy))) {
        const { json } = await reg.getManifest(repository, legacy);
        for (const layer of (json?.layers ?? [])) {
            const sig = layer.annotations?.[COSIGN_SIGNATURE_ANNOTATION];
            if (layer.mediaType !== SIMPLE_SIGNING || !sig)
                continue;
            const payload = await reg.getBlob(repository, layer.digest);
            if (!(await verifier.verify(payload, Buffer.from(sig, 'base64')))) {
                why.push(`cosign signature ${layer.digest}: does not verify with ${verifier.describe}`);
                continue;
            }
            try {
                const claims = JSON.parse(payload.toString('utf8'));
                if (claims.critical?.image?.['docker-manifest-digest'] === digest)
                    return undefined;
                why.push(`cosign signature ${layer.digest}: signed for ${claims.critical?.image?.['docker-manifest-digest']}`);
            }
            catch {
                why.push(`cosign signature ${layer.digest}: its payload is not JSON`);
            }
        }
    }
    return why.length
        ? why.join('; ')
        : 'no signature at all (no Sigstore bundle among its referrers, no cosign .sig tag)';
}
/** The message of a failed check, for a caller that wraps several. */
function signatureProblem(image, why) {
    return `${image}: not signed by the verify-key: ${why}`;
}

;// CONCATENATED MODULE: ./lib/supplychain/plan.js




const SYFT_INSTALL_HINT = 'install syft (https://github.com/anchore/syft; on GitHub runners: uses: anchore/sbom-action/download-syft@v0), or use the docker builder (buildx makes its own SBOM)';
async function readAttest(inputs, o) {
    if (!inputs)
        return undefined;
    const signer = !inputs.signKey
        ? undefined
        : inputs.signKey.value === KEYLESS
            ? keylessSigner(o.env)
            : await loadSigner({
                input: 'sign-key',
                value: inputs.signKey.value,
                workspace: o.workspace,
                ...(inputs.signKey.password !== undefined ? { password: inputs.signKey.password } : {}),
                ...(o.env ? { env: o.env } : {}),
            });
    return { sbom: inputs.sbom, provenance: inputs.provenance, ...(signer ? { signer } : {}) };
}
/** The verifier of `verify-key` (a key) or of `verify-identity` (keyless, by identity); checked now. */
async function readVerifyKey(value, o) {
    if (!value)
        return undefined;
    if (typeof value !== 'string')
        return { ...value, describe: `the Sigstore identity ${value.identity} (issuer ${value.issuer})` };
    const v = await loadVerifier({
        input: 'verify-key',
        value,
        workspace: o.workspace,
        ...(o.env ? { env: o.env } : {}),
    });
    await v.publicKeyDer(); // a KMS key that cannot be read fails here, before anything
    return v;
}
/**
 * For a build about to run with `builder`: syft when buildah is to make the SBOM (docker buildx makes
 * its own). Throws before the build when it is missing.
 */
async function syftFor(plan, builder, env = process.env) {
    if (!plan?.sbom || builder !== 'buildah')
        return undefined;
    const syft = await (0,exec/* which */.K7)('syft', env.PATH ?? '');
    if (!syft)
        throw new errors/* ToolMissingError */.hc('syft', SYFT_INSTALL_HINT);
    return syft;
}
/**
 * After a push: what the plan asks for. docker buildx attached the SBOM and the provenance itself
 * (`--sbom`, `--provenance`); buildah's are made here. The signature either way.
 */
async function attestPushed(plan, reg, repository, digest, o) {
    if (!plan)
        return undefined;
    const own = o.builder === 'buildah';
    if (!plan.signer && !own)
        return undefined;
    return attestImage(reg, repository, digest, {
        ...(plan.signer ? { signer: plan.signer } : {}),
        ...(own && plan.sbom && o.syft ? { sbom: { syft: o.syft } } : {}),
        ...(own && plan.provenance ? { provenance: o.facts() } : {}),
        logger: o.logger,
        ...(o.env ? { env: o.env } : {}),
    });
}

;// CONCATENATED MODULE: ./lib/supplychain/index.js
// The face of src/supplychain: signing, SBOMs and provenance of pushed images, and the check of
// signatures before a deploy (Sigstore bundles as OCI referrers, as cosign v3 writes them).








/***/ })

};
