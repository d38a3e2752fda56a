import { keyHint, type Signer, type Verifier } from './keys.js';

/**
 * Sigstore bundles (v0.3) holding a DSSE envelope of an in-toto statement about one image digest:
 * the form `cosign sign` (v3) writes for a signature (predicate type
 * https://sigstore.dev/cosign/sign/v1, empty predicate) and `cosign attest` for an attestation (an
 * SBOM, a provenance). Key-based: the verification material is the key's hint; no transparency-log
 * entry (cosign verifies it with `--insecure-ignore-tlog=true`; see the README for why and for
 * keyless signing, which logs).
 */
export const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
/** What `cosign sign` signs: the statement that the key's holder signed this image. */
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';

export interface Statement {
  _type: string;
  subject: { name?: string; digest: Record<string, string>; annotations?: Record<string, string> }[];
  predicateType: string;
  predicate: unknown;
}

export interface Bundle {
  mediaType: string;
  verificationMaterial: {
    publicKey?: { hint: string };
    certificate?: { rawBytes: string };
    x509CertificateChain?: unknown;
    tlogEntries?: unknown[];
  };
  dsseEnvelope?: { payload: string; payloadType: string; signatures: { sig: string; keyid?: string }[] };
  messageSignature?: unknown;
}

/** The statement about one image digest (sha256:…). */
export function statementFor(digest: string, predicateType: string, predicate: unknown = {}): Statement {
  return {
    _type: STATEMENT_TYPE,
    subject: [{ digest: { sha256: digest.replace(/^sha256:/, '') }, annotations: {} }],
    predicateType,
    predicate,
  };
}

/** DSSE's pre-authentication encoding: what is signed (not the payload alone). */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'utf8'),
    type,
    Buffer.from(` ${payload.length} `, 'utf8'),
    payload,
  ]);
}

export async function signStatement(statement: Statement, signer: Signer): Promise<Bundle> {
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
export async function checkBundle(
  bundle: Bundle,
  verifier: Verifier,
  digest: string,
  predicateType = COSIGN_SIGN_PREDICATE,
): Promise<string | undefined> {
  const env = bundle.dsseEnvelope;
  if (!env) return 'not a DSSE envelope (a message signature, or keyless: not by this key)';
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
  if (!ok) return `no signature in it verifies with ${verifier.describe}`;
  return statementOf(bundle, digest, predicateType);
}

/** Undefined when the bundle's statement is about `digest` with this predicate type, else why not. */
export function statementOf(bundle: Bundle, digest: string, predicateType: string): string | undefined {
  let st: Statement;
  try {
    st = JSON.parse(Buffer.from(bundle.dsseEnvelope?.payload ?? '', 'base64').toString('utf8')) as Statement;
  } catch {
    return 'its payload is not JSON';
  }
  if (st.predicateType !== predicateType)
    return `a statement of type ${st.predicateType}, not ${predicateType}`;
  const hex = digest.replace(/^sha256:/, '');
  if (!st.subject?.some((s) => s.digest?.sha256 === hex))
    return `signed for ${st.subject?.map((s) => `sha256:${s.digest?.sha256}`).join(', ')}, not ${digest}`;
  return undefined;
}
