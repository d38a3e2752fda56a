import {
  createHash,
  createPrivateKey,
  createPublicKey,
  scryptSync,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { C2CError, InputError, errorMessage } from '../core/index.js';

/**
 * The keys of `sign-key` and `verify-key`, as cosign names them: a PEM (cosign's encrypted
 * `ENCRYPTED SIGSTORE PRIVATE KEY`, or PKCS#8 / SEC1 / PKIX), given as the key itself, as
 * `env://NAME`, or as a file path (relative to the workspace); or an AWS KMS key,
 * `awskms:///<key id, alias/… or ARN>` (or `awskms://<endpoint>/<key>`), which never leaves KMS.
 * ECDSA P-256 (cosign's default), P-384, Ed25519 and RSA.
 */
export interface Signer {
  /** What it is, for the log (never the key). */
  describe: string;
  /** The public key, DER SubjectPublicKeyInfo: the bundle's key hint is its SHA-256. */
  publicKeyDer(): Promise<Buffer>;
  sign(data: Buffer): Promise<Buffer>;
}

export interface Verifier {
  describe: string;
  publicKeyDer(): Promise<Buffer>;
  verify(data: Buffer, signature: Buffer): Promise<boolean>;
}

/** Where the key is read from: the input's value (PEM, env://, a path, awskms://). */
export interface KeySource {
  input: string;
  value: string;
  workspace: string;
  env?: NodeJS.ProcessEnv;
}

const KMS_PREFIX = 'awskms://';
/** The longest message AWS KMS Sign takes whole (MessageType RAW). */
const KMS_RAW_MAX = 4096;

/** The key hint of a bundle's verificationMaterial (cosign: base64 SHA-256 of the DER public key). */
export async function keyHint(k: Pick<Signer, 'publicKeyDer'>): Promise<string> {
  return createHash('sha256')
    .update(await k.publicKeyDer())
    .digest('base64');
}

/** The PEM text of a source that is not KMS: the value itself, an environment variable, or a file. */
function pemOf(src: KeySource): string {
  const v = src.value.trim();
  if (v.startsWith('-----BEGIN')) return v;
  if (v.startsWith('env://')) {
    const name = v.slice('env://'.length);
    const text = (src.env ?? process.env)[name];
    if (!text?.trim())
      throw new InputError(
        src.input,
        `the environment variable ${name} is empty or not set`,
        `a PEM key in ${name}`,
      );
    return text.trim();
  }
  const file = path.resolve(src.workspace, v);
  try {
    if (!statSync(file).isFile()) throw new Error('not a file');
    return readFileSync(file, 'utf8').trim();
  } catch {
    throw new InputError(
      src.input,
      `'${v.length > 80 ? `${v.slice(0, 40)}…` : v}' is not a PEM key, an env:// or awskms:// reference, or a file (looked for ${file})`,
      "a PEM key (e.g. '${{ secrets.COSIGN_PRIVATE_KEY }}'), env://NAME, a path relative to the workspace, or awskms:///alias/NAME",
    );
  }
}

/** cosign's encrypted private key: scrypt for the key, NaCl secretbox for the PKCS#8 DER inside. */
async function decryptCosignKey(pem: string, password: string, input: string): Promise<KeyObject> {
  const body = pem
    .replace(/-----(BEGIN|END) ENCRYPTED (SIGSTORE|COSIGN) PRIVATE KEY-----/g, '')
    .replace(/\s+/g, '');
  let doc: {
    kdf?: { name?: string; params?: { N?: number; r?: number; p?: number }; salt?: string };
    cipher?: { name?: string; nonce?: string };
    ciphertext?: string;
  };
  try {
    doc = JSON.parse(Buffer.from(body, 'base64').toString('utf8'));
  } catch {
    throw new InputError(
      input,
      'is an encrypted cosign key that cannot be read',
      'the file cosign generate-key-pair wrote',
    );
  }
  const { kdf, cipher } = doc;
  if (
    kdf?.name !== 'scrypt' ||
    cipher?.name !== 'nacl/secretbox' ||
    !kdf.salt ||
    !cipher.nonce ||
    !doc.ciphertext
  )
    throw new InputError(
      input,
      `is an encrypted key of a kind this action does not read (kdf ${kdf?.name}, cipher ${cipher?.name})`,
      'a key made by cosign generate-key-pair (scrypt, nacl/secretbox), or a PKCS#8 PEM',
    );
  const { N = 65536, r = 8, p = 1 } = kdf.params ?? {};
  const key = scryptSync(Buffer.from(password, 'utf8'), Buffer.from(kdf.salt, 'base64'), 32, {
    N,
    r,
    p,
    maxmem: 256 * N * r + 1024 * 1024,
  });
  const { xsalsa20poly1305 } = await import('@noble/ciphers/salsa.js');
  let der: Uint8Array;
  try {
    der = xsalsa20poly1305(new Uint8Array(key), new Uint8Array(Buffer.from(cipher.nonce, 'base64'))).decrypt(
      new Uint8Array(Buffer.from(doc.ciphertext, 'base64')),
    );
  } catch {
    throw new InputError(
      input,
      'is an encrypted cosign key, and the password does not open it',
      "the key's password in 'sign-key-password' (or COSIGN_PASSWORD)",
    );
  }
  return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
}

/** Signs data as cosign does for the key's type: ECDSA and RSA over SHA-256 (P-384: SHA-384), Ed25519 pure. */
function hashFor(key: KeyObject): string | null {
  if (key.asymmetricKeyType === 'ed25519') return null;
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'secp384r1') return 'sha384';
  return 'sha256';
}

/** The key's algorithm, for messages: `ECDSA prime256v1`, `ed25519`, `rsa`. */
function keyType(key: KeyObject): string {
  return key.asymmetricKeyType === 'ec'
    ? `ECDSA ${key.asymmetricKeyDetails?.namedCurve}`
    : String(key.asymmetricKeyType);
}

function checkKeyType(key: KeyObject, input: string): void {
  if (!['ec', 'ed25519', 'rsa'].includes(key.asymmetricKeyType ?? ''))
    throw new InputError(
      input,
      `is a ${key.asymmetricKeyType} key`,
      'an ECDSA (P-256, P-384), Ed25519 or RSA key',
    );
}

/** The signer of `sign-key`. */
export async function loadSigner(src: KeySource & { password?: string }): Promise<Signer> {
  if (src.value.trim().startsWith(KMS_PREFIX)) return kmsKey(src.value.trim(), src.input);
  const pem = pemOf(src);
  let key: KeyObject;
  if (/-----BEGIN ENCRYPTED (SIGSTORE|COSIGN) PRIVATE KEY-----/.test(pem)) {
    const password = src.password ?? (src.env ?? process.env).COSIGN_PASSWORD ?? '';
    key = await decryptCosignKey(pem, password, src.input);
  } else {
    try {
      key = createPrivateKey(pem);
    } catch (e) {
      throw new InputError(
        src.input,
        `is not a private key this action reads (${errorMessage(e).split('\n')[0]})`,
        'a cosign key (cosign generate-key-pair), a PKCS#8 or SEC1 PEM private key, or awskms:///…',
      );
    }
  }
  checkKeyType(key, src.input);
  const pub = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return {
    describe: `a ${keyType(key)} key`,
    publicKeyDer: async () => pub,
    sign: async (data) => cryptoSign(hashFor(key), data, key),
  };
}

/** The verifier of `verify-key`: a public key (or a private one, whose public half is used), or KMS. */
export async function loadVerifier(src: KeySource): Promise<Verifier> {
  if (src.value.trim().startsWith(KMS_PREFIX)) return kmsKey(src.value.trim(), src.input);
  const pem = pemOf(src);
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    throw new InputError(
      src.input,
      `is not a public key this action reads (${errorMessage(e).split('\n')[0]})`,
      'a PEM public key (cosign.pub), or awskms:///…',
    );
  }
  checkKeyType(key, src.input);
  const der = key.export({ format: 'der', type: 'spki' });
  return {
    describe: `a ${keyType(key)} public key`,
    publicKeyDer: async () => der,
    verify: async (data, sig) => {
      try {
        return cryptoVerify(hashFor(key), data, key, sig);
      } catch {
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
function kmsKey(ref: string, input: string): Signer & Verifier {
  const rest = ref.slice(KMS_PREFIX.length);
  const slash = rest.indexOf('/');
  const endpoint = slash > 0 ? rest.slice(0, slash) : '';
  const keyId = slash >= 0 ? rest.slice(slash + 1) : rest;
  if (!keyId)
    throw new InputError(
      input,
      `'${ref}' names no key`,
      'awskms:///<key id>, awskms:///alias/<name> or awskms:///<key ARN>',
    );
  // A key ARN names its region; an id or alias goes to the SDK's (AWS_REGION).
  const region = /^arn:aws[\w-]*:kms:([\w-]+):/.exec(keyId)?.[1];
  type Kms = import('@aws-sdk/client-kms').KMSClient;
  let client: Promise<{ kms: Kms; sdk: typeof import('@aws-sdk/client-kms') }> | undefined;
  const kms = () =>
    (client ??= import('@aws-sdk/client-kms').then((sdk) => ({
      sdk,
      kms: new sdk.KMSClient({
        ...(endpoint ? { endpoint: `https://${endpoint}` } : {}),
        ...(region ? { region } : {}),
      }),
    })));
  let info: Promise<{ der: Buffer; spec: string; key: KeyObject }> | undefined;
  const publicKey = () =>
    (info ??= kms().then(async ({ kms: c, sdk }) => {
      try {
        const out = await c.send(new sdk.GetPublicKeyCommand({ KeyId: keyId }));
        const der = Buffer.from(out.PublicKey ?? []);
        return {
          der,
          spec: String(out.KeySpec ?? ''),
          key: createPublicKey({ key: der, format: 'der', type: 'spki' }),
        };
      } catch (e) {
        throw new C2CError(
          `AWS KMS: could not read the public key of ${keyId} (GetPublicKey): ${errorMessage(e)}`,
          {
            cause: e,
          },
        );
      }
    }));
  // From the key itself (not the KeySpec field, which some KMS stand-ins leave out).
  const algorithm = (key: KeyObject) =>
    key.asymmetricKeyType === 'rsa'
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
        throw new C2CError(
          `AWS KMS key ${keyId} is a ${spec} key: signing needs ECC_NIST_P256, ECC_NIST_P384 or RSA`,
        );
      const { kms: c, sdk } = await kms();
      try {
        const out = await c.send(
          new sdk.SignCommand({
            KeyId: keyId,
            // KMS signs a message of up to 4096 bytes itself (RAW); a longer one (an SBOM's
            // envelope) as its digest (DIGEST), computed here.
            ...(data.length <= KMS_RAW_MAX
              ? { Message: data, MessageType: 'RAW' as const }
              : { Message: createHash(a.hash).update(data).digest(), MessageType: 'DIGEST' as const }),
            SigningAlgorithm: a.alg as import('@aws-sdk/client-kms').SigningAlgorithmSpec,
          }),
        );
        return Buffer.from(out.Signature ?? []);
      } catch (e) {
        throw new C2CError(`AWS KMS: could not sign with ${keyId} (Sign): ${errorMessage(e)}`, { cause: e });
      }
    },
    async verify(data, sig) {
      const { key } = await publicKey();
      const a = algorithm(key);
      try {
        return !!a && cryptoVerify(a.hash, data, key, sig);
      } catch {
        return false;
      }
    },
  };
}
