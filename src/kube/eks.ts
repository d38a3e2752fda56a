import { Sha256 } from '@aws-crypto/sha256-js';
// The AWS SDK is loaded only on the EKS path: a kubeconfig deploy does not pay for it at start-up.
import type { EKSClient } from '@aws-sdk/client-eks';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { C2CError, InputError, errorMessage, retry, isTransient } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { Credentials, KubeConnection } from './connection.js';

/**
 * EKS without the aws CLI: DescribeCluster gives the endpoint and CA; the bearer token is what
 * `aws eks get-token` prints: a presigned STS GetCallerIdentity URL (SigV4 query signing, the
 * cluster name in the signed header x-k8s-aws-id, 60 s expiry), base64url without padding, prefixed
 * with `k8s-aws-v1.`. EKS accepts such a token for 15 minutes; we refresh it after 14.
 */
export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
const TOKEN_LIFETIME_MS = 14 * 60_000;

export interface EksTokenOptions {
  clusterName: string;
  region: string;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Signing time (tests). Default now. */
  now?: Date;
}

/**
 * The regional STS endpoint of a region, as the AWS SDK resolves it: `sts.<region>.<DNS suffix of
 * the region's partition>` (amazonaws.com, amazonaws.com.cn for cn-*, the GovCloud, isolated and
 * sovereign partitions' own suffixes). The partition comes from the SDK's partition data (the
 * `partition` function of its endpoint rules), loaded only on the EKS path.
 */
export async function stsEndpoint(region: string): Promise<{ hostname: string; partition: string }> {
  const { partition } = await import('@aws-sdk/core/client');
  const p = partition(region);
  return { hostname: `sts.${region}.${p.dnsSuffix}`, partition: p.name };
}

/** The token `aws eks get-token --cluster-name <name>` would print, and when to renew it. */
export async function eksToken(opts: EksTokenOptions): Promise<{ token: string; expiresAt: Date }> {
  const now = opts.now ?? new Date();
  const signer = new SignatureV4({
    service: 'sts',
    region: opts.region,
    credentials: opts.credentials,
    sha256: Sha256,
    uriEscapePath: true,
    applyChecksum: false,
  });
  const { hostname } = await stsEndpoint(opts.region);
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: hostname, 'x-k8s-aws-id': opts.clusterName },
    },
    { expiresIn: 60, signingDate: now },
  );
  const qs = Object.entries(signed.query ?? {})
    .flatMap(([k, v]) =>
      (Array.isArray(v) ? v : [v]).map((x) => `${encodeRfc3986(k)}=${encodeRfc3986(String(x))}`),
    )
    .sort()
    .join('&');
  const url = `https://${hostname}/?${qs}`;
  const token = EKS_TOKEN_PREFIX + Buffer.from(url, 'utf8').toString('base64url');
  return { token, expiresAt: new Date(now.getTime() + TOKEN_LIFETIME_MS) };
}

function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export interface EksConnectionOptions {
  clusterName: string;
  region: string;
  /** Default: the AWS default credential chain (env, profile, web identity / OIDC, IMDS). */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** An EKS client to use instead of a new one (tests pass one with an endpoint or a mock). */
  eksClient?: EKSClient;
  namespace?: string;
}

export async function eksConnection(opts: EksConnectionOptions, logger: Logger): Promise<KubeConnection> {
  if (!/^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/.test(opts.clusterName))
    throw new InputError(
      'cluster-name',
      `'${opts.clusterName}' is not an EKS cluster name`,
      'letters, digits, - and _ (up to 100)',
    );
  if (!/^[a-z]{2,4}(-[a-z]+)+-\d+$/.test(opts.region))
    throw new InputError('aws-region', `'${opts.region}' is not an AWS region`, 'a region such as eu-west-1');
  const sdk = await import('@aws-sdk/client-eks');
  const credentials =
    opts.credentials ?? (await import('@aws-sdk/credential-provider-node')).defaultProvider();
  const eks = opts.eksClient ?? new sdk.EKSClient({ region: opts.region, credentials, maxAttempts: 1 });
  const out = await retry(
    `EKS DescribeCluster ${opts.clusterName}`,
    () => eks.send(new sdk.DescribeClusterCommand({ name: opts.clusterName })),
    {
      retryable: (err) => {
        const e = err as { $retryable?: unknown; $metadata?: { httpStatusCode?: number }; name?: string };
        if (e.$retryable) return true;
        const status = e.$metadata?.httpStatusCode;
        return status !== undefined ? isTransient({ status }) : isTransient(err);
      },
      onRetry: (err, attempt, delay) =>
        logger.debug(
          `EKS DescribeCluster: attempt ${attempt} failed (${errorMessage(err)}); retrying in ${delay} ms`,
        ),
    },
  ).catch((err: unknown) => {
    const name = (err as { name?: string }).name;
    if (name === 'ResourceNotFoundException')
      throw new InputError(
        'cluster-name',
        `EKS cluster '${opts.clusterName}' was not found in ${opts.region}`,
        'the name of an existing cluster in aws-region',
      );
    throw new C2CError(
      `EKS DescribeCluster ${opts.clusterName} in ${opts.region} failed: ${errorMessage(err)}`,
      { cause: err },
    );
  });
  const cluster = out.cluster;
  if (!cluster?.endpoint || !cluster.certificateAuthority?.data)
    throw new C2CError(
      `EKS cluster '${opts.clusterName}' has no endpoint or CA yet (status ${cluster?.status ?? 'unknown'})`,
    );
  const refresh = async (): Promise<Credentials> => {
    const t = await eksToken({ clusterName: opts.clusterName, region: opts.region, credentials });
    logger.secret(t.token);
    return t;
  };
  const first = await refresh();
  return {
    server: cluster.endpoint.replace(/\/$/, ''),
    ca: Buffer.from(cluster.certificateAuthority.data, 'base64').toString('utf8'),
    namespace: opts.namespace ?? 'default',
    contextName: cluster.arn ?? opts.clusterName,
    ...first,
    refresh,
  };
}
