import { createHash, createHmac } from 'node:crypto';
import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import { EKS_TOKEN_PREFIX, eksConnection, eksToken } from '../../src/kube/eks.js';

const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const when = new Date('2026-03-04T05:06:07Z');

function decode(token: string): URL {
  expect(token.startsWith(EKS_TOKEN_PREFIX)).toBe(true);
  const b64 = token.slice(EKS_TOKEN_PREFIX.length);
  expect(b64).toMatch(/^[A-Za-z0-9_-]+$/); // base64url, no padding
  return new URL(Buffer.from(b64, 'base64url').toString('utf8'));
}

const enc = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** An independent SigV4 query-signature check (what STS does when EKS forwards the URL). */
function expectedSignature(u: URL, clusterName: string, secret: string, region: string): string {
  const params = [...u.searchParams].filter(([k]) => k !== 'X-Amz-Signature');
  const query = params
    .map(([k, v]) => `${enc(k)}=${enc(v)}`)
    .sort()
    .join('&');
  const canonicalRequest = [
    'GET',
    '/',
    query,
    `host:${u.host}`,
    `x-k8s-aws-id:${clusterName}`,
    '',
    'host;x-k8s-aws-id',
    createHash('sha256').update('').digest('hex'),
  ].join('\n');
  const amzDate = u.searchParams.get('X-Amz-Date')!;
  const scope = `${amzDate.slice(0, 8)}/${region}/sts/aws4_request`;
  const toSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  let key: Buffer = createHmac('sha256', `AWS4${secret}`).update(amzDate.slice(0, 8)).digest();
  for (const part of [region, 'sts', 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  return createHmac('sha256', key).update(toSign).digest('hex');
}

describe('eksToken (what `aws eks get-token` prints)', () => {
  it('is k8s-aws-v1. + base64url of a presigned STS GetCallerIdentity URL, signed over the cluster name', async () => {
    const { token, expiresAt } = await eksToken({
      clusterName: 'prod-cluster',
      region: 'eu-west-1',
      credentials: creds,
      now: when,
    });
    const u = decode(token);
    expect(u.origin).toBe('https://sts.eu-west-1.amazonaws.com');
    expect(u.pathname).toBe('/');
    const q = Object.fromEntries(u.searchParams);
    expect(q).toMatchObject({
      Action: 'GetCallerIdentity',
      Version: '2011-06-15',
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': 'AKIDEXAMPLE/20260304/eu-west-1/sts/aws4_request',
      'X-Amz-Date': '20260304T050607Z',
      'X-Amz-Expires': '60',
      'X-Amz-SignedHeaders': 'host;x-k8s-aws-id',
    });
    expect(q['X-Amz-Signature']).toBe(
      expectedSignature(u, 'prod-cluster', creds.secretAccessKey, 'eu-west-1'),
    );
    // The cluster name is signed: the same URL for another cluster does not verify.
    expect(q['X-Amz-Signature']).not.toBe(
      expectedSignature(u, 'other-cluster', creds.secretAccessKey, 'eu-west-1'),
    );
    expect(expiresAt.getTime() - when.getTime()).toBe(14 * 60_000);
  });

  it('carries the session token of temporary credentials', async () => {
    const { token } = await eksToken({
      clusterName: 'c',
      region: 'us-east-1',
      credentials: { ...creds, sessionToken: 'SESSION/TOKEN+=' },
      now: when,
    });
    const u = decode(token);
    expect(u.searchParams.get('X-Amz-Security-Token')).toBe('SESSION/TOKEN+=');
    expect(u.searchParams.get('X-Amz-Signature')).toBe(
      expectedSignature(u, 'c', creds.secretAccessKey, 'us-east-1'),
    );
  });
});

describe('eksConnection', () => {
  it('takes endpoint and CA from DescribeCluster and a fresh token; the token is masked', async () => {
    const eks = mockClient(EKSClient);
    eks.on(DescribeClusterCommand, { name: 'prod' }).resolves({
      cluster: {
        name: 'prod',
        arn: 'arn:aws:eks:eu-west-1:123456789012:cluster/prod',
        endpoint: 'https://ABC.gr7.eu-west-1.eks.amazonaws.com',
        certificateAuthority: {
          data: Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString(
            'base64',
          ),
        },
        status: 'ACTIVE',
      },
    });
    const logger = memoryLogger();
    const conn = await eksConnection(
      {
        clusterName: 'prod',
        region: 'eu-west-1',
        credentials: creds,
        eksClient: new EKSClient({ region: 'eu-west-1', credentials: creds }),
      },
      logger,
    );
    expect(conn.server).toBe('https://ABC.gr7.eu-west-1.eks.amazonaws.com');
    expect(conn.ca).toContain('BEGIN CERTIFICATE');
    expect(conn.token!.startsWith(EKS_TOKEN_PREFIX)).toBe(true);
    expect(typeof conn.refresh).toBe('function');
    logger.info(`t=${conn.token}`);
    expect(logger.text()).not.toContain(conn.token!);
    eks.restore();
  });

  it('names the input for a missing cluster and for bad names', async () => {
    const eks = mockClient(EKSClient);
    eks
      .on(DescribeClusterCommand)
      .rejects(
        Object.assign(new Error('No cluster found for name: nope.'), { name: 'ResourceNotFoundException' }),
      );
    await expect(
      eksConnection(
        {
          clusterName: 'nope',
          region: 'eu-west-1',
          credentials: creds,
          eksClient: new EKSClient({ region: 'eu-west-1', credentials: creds }),
        },
        memoryLogger(),
      ),
    ).rejects.toThrow("Input 'cluster-name': EKS cluster 'nope' was not found in eu-west-1");
    eks.restore();
    await expect(
      eksConnection({ clusterName: 'bad name', region: 'eu-west-1', credentials: creds }, memoryLogger()),
    ).rejects.toThrow(/Input 'cluster-name'/);
    await expect(
      eksConnection({ clusterName: 'ok', region: 'Frankfurt', credentials: creds }, memoryLogger()),
    ).rejects.toThrow(/Input 'aws-region'/);
  });
});
