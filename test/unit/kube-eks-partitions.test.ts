// The EKS token is a presigned STS URL: its host must be the STS endpoint of the region's partition
// (amazonaws.com, amazonaws.com.cn in China, the GovCloud regions, the isolated and sovereign ones),
// and the signature must be made for that host and region.
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import { EKS_TOKEN_PREFIX, eksConnection, eksToken, stsEndpoint } from '../../src/kube/eks.js';

const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const when = new Date('2026-03-04T05:06:07Z');

const enc = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** An independent SigV4 query-signature check, for the host the URL names. */
function signatureFor(u: URL, clusterName: string, region: string): string {
  const query = [...u.searchParams]
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => `${enc(k)}=${enc(v)}`)
    .sort()
    .join('&');
  const canonical = [
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
  const toSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    `${amzDate.slice(0, 8)}/${region}/sts/aws4_request`,
    createHash('sha256').update(canonical).digest('hex'),
  ].join('\n');
  let key: Buffer = createHmac('sha256', `AWS4${creds.secretAccessKey}`).update(amzDate.slice(0, 8)).digest();
  for (const part of [region, 'sts', 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  return createHmac('sha256', key).update(toSign).digest('hex');
}

// What the STS client of the AWS SDK resolves for each region (regional endpoints).
const CASES: Array<[region: string, partition: string, host: string]> = [
  ['eu-west-1', 'aws', 'sts.eu-west-1.amazonaws.com'],
  ['us-east-1', 'aws', 'sts.us-east-1.amazonaws.com'],
  ['cn-north-1', 'aws-cn', 'sts.cn-north-1.amazonaws.com.cn'],
  ['cn-northwest-1', 'aws-cn', 'sts.cn-northwest-1.amazonaws.com.cn'],
  ['us-gov-west-1', 'aws-us-gov', 'sts.us-gov-west-1.amazonaws.com'],
  ['us-gov-east-1', 'aws-us-gov', 'sts.us-gov-east-1.amazonaws.com'],
  ['us-iso-east-1', 'aws-iso', 'sts.us-iso-east-1.c2s.ic.gov'],
  ['eusc-de-east-1', 'aws-eusc', 'sts.eusc-de-east-1.amazonaws.eu'],
];

describe('the STS endpoint of the EKS token', () => {
  it.each(CASES)('%s (%s): https://%s', async (region, partition, host) => {
    expect(await stsEndpoint(region)).toEqual({ hostname: host, partition });
    const { token } = await eksToken({ clusterName: 'prod', region, credentials: creds, now: when });
    expect(token.startsWith(EKS_TOKEN_PREFIX)).toBe(true);
    const u = new URL(Buffer.from(token.slice(EKS_TOKEN_PREFIX.length), 'base64url').toString('utf8'));
    expect(u.origin).toBe(`https://${host}`);
    expect(u.searchParams.get('X-Amz-Credential')).toBe(`AKIDEXAMPLE/20260304/${region}/sts/aws4_request`);
    expect(u.searchParams.get('X-Amz-Signature')).toBe(signatureFor(u, 'prod', region));
  });

  it('accepts the region names of every partition as aws-region, and still refuses what is no region', async () => {
    // A region that passes validation reaches DescribeCluster: a refused one fails before, naming the input.
    for (const region of ['cn-north-1', 'us-gov-west-1', 'eusc-de-east-1'])
      await expect(
        eksConnection(
          { clusterName: 'ok', region, credentials: creds, eksClient: refusing() },
          memoryLogger(),
        ),
      ).rejects.toThrow(/EKS DescribeCluster ok in .* failed: refused by the test/);
    for (const region of ['Frankfurt', 'eu_west_1', 'cn-north'])
      await expect(
        eksConnection({ clusterName: 'ok', region, credentials: creds }, memoryLogger()),
      ).rejects.toThrow(`Input 'aws-region': '${region}' is not an AWS region`);
  });
});

/** An EKS client whose every call fails (no network): enough to show validation let the region through. */
function refusing() {
  return {
    send: () =>
      Promise.reject(Object.assign(new Error('refused by the test'), { name: 'AccessDeniedException' })),
  } as unknown as import('@aws-sdk/client-eks').EKSClient;
}
