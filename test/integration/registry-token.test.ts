import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import { connectRegistry, OCI_MANIFEST, RegistryAuthError } from '../../src/registry/index.js';
import { haveTools } from '../helpers/tools.js';
import { startTokenRegistry, type TokenRegistryServer } from '../helpers/token-server.js';
import { pushTestImage } from '../helpers/oci.js';

describe.skipIf(!haveTools('docker-registry', 'openssl'))(
  'registry client: bearer-token flow against the real registry',
  () => {
    let reg: TokenRegistryServer;
    beforeAll(async () => {
      reg = await startTokenRegistry();
    });
    afterAll(async () => {
      await reg?.stop();
    });
    beforeEach(() => {
      reg.tokens.requests.length = 0;
    });

    it('the registry really demands tokens from our token server', async () => {
      const res = await fetch(`${reg.url}/v2/`);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain(`Bearer realm="${reg.tokens.realm}"`);
    });

    it('gets a pull token for reads and a pull,push token for writes, with the service, and caches them', async () => {
      const logger = memoryLogger();
      const r = await connectRegistry(reg.host, { username: reg.username, password: reg.password, logger });
      const img = await pushTestImage(reg, 'tok/app', 'v1', { labels: { l: '1' } });
      reg.tokens.requests.length = 0;

      expect(await r.head('tok/app', 'v1')).toMatchObject({ digest: img.digest });
      expect(await r.head('tok/app', 'v2')).toBeUndefined();
      expect((await r.imageConfig('tok/app', 'v1')).labels).toEqual({ l: '1' });
      // One token for every pull of this repository.
      expect(reg.tokens.requests).toEqual([
        {
          account: reg.username,
          service: reg.tokens.service,
          scopes: ['repository:tok/app:pull'],
          result: 'ok',
          token: expect.any(String),
        },
      ]);

      await r.putManifest('tok/app', 'v2', JSON.stringify(img.manifest), OCI_MANIFEST);
      await r.putManifest('tok/app', 'v3', JSON.stringify(img.manifest), OCI_MANIFEST);
      expect(reg.tokens.requests.map((q) => q.scopes)).toEqual([
        ['repository:tok/app:pull'],
        ['repository:tok/app:pull,push'],
      ]);
      // The pull,push token now also serves pulls: no new request.
      expect(await r.head('tok/app', 'v3')).toMatchObject({ digest: img.digest });
      // Another repository needs its own token.
      expect(await r.head('tok/other', 'v1')).toBeUndefined();
      expect(reg.tokens.requests.map((q) => q.scopes)).toEqual([
        ['repository:tok/app:pull'],
        ['repository:tok/app:pull,push'],
        ['repository:tok/other:pull'],
      ]);
      // Tokens are secrets: registered with the logger before use, so no log line can show them.
      for (const q of reg.tokens.requests) logger.info(`token ${q.token}`);
      for (const q of reg.tokens.requests) expect(logger.text()).not.toContain(q.token!);
    });

    it('concurrent requests for the same scope share one token request', async () => {
      const r = await connectRegistry(reg.host, {
        username: reg.username,
        password: reg.password,
        logger: memoryLogger(),
      });
      await Promise.all(Array.from({ length: 6 }, (_, i) => r.head('tok/conc', `t${i}`)));
      expect(reg.tokens.requests).toHaveLength(1);
    });

    it('a cross-repository mount asks for push on the target and pull on the source in one token', async () => {
      const src = await pushTestImage(reg, 'tok/src', 'v1');
      reg.tokens.requests.length = 0;
      const r = await connectRegistry(reg.host, {
        username: reg.username,
        password: reg.password,
        logger: memoryLogger(),
      });
      expect(await r.mountBlob('tok/dst', src.layerDigests[0]!, 'tok/src')).toBe(true);
      expect(reg.tokens.requests.map((q) => q.scopes)).toEqual([
        ['repository:tok/dst:pull,push', 'repository:tok/src:pull'],
      ]);
      expect(await r.blobExists('tok/dst', src.layerDigests[0]!)).toBe(true);
    });

    it('a wrong password: the token server refuses, the error names the user, the source and the scope, not the password', async () => {
      const logger = memoryLogger();
      const wrong = 'not-the-Token-pw-123';
      const r = await connectRegistry(reg.host, { username: reg.username, password: wrong, logger });
      const err = await r.head('tok/app', 'v1').catch((e) => e);
      expect(err).toBeInstanceOf(RegistryAuthError);
      expect(err.message).toContain(`as '${reg.username}' (from inputs registry-username/registry-password)`);
      expect(err.message).toContain('repository:tok/app:pull');
      expect(err.message).toContain('token server');
      expect(err.message).not.toContain(wrong);
      expect(logger.text()).not.toContain(wrong);
    });

    it('anonymous: the error says no credentials were given', async () => {
      const r = await connectRegistry(reg.host, { logger: memoryLogger() });
      const err = await r.head('tok/app', 'v1').catch((e) => e);
      expect(err).toBeInstanceOf(RegistryAuthError);
      expect(err.message).toMatch(/anonymously/);
    });

    it('a read-only user can pull, and a push fails naming the user and the push scope', async () => {
      const img = await pushTestImage(reg, 'tok/ro', 'v1');
      const r = await connectRegistry(reg.host, {
        username: 'reader',
        password: 'reader-pw',
        logger: memoryLogger(),
      });
      expect(await r.head('tok/ro', 'v1')).toMatchObject({ digest: img.digest });
      const err = await r
        .putManifest('tok/ro', 'v2', JSON.stringify(img.manifest), OCI_MANIFEST)
        .catch((e) => e);
      expect(err).toBeInstanceOf(RegistryAuthError);
      expect(err.message).toContain("as 'reader'");
      expect(err.message).toContain('repository:tok/ro:pull,push');
      expect(err.message).not.toContain('reader-pw');
    });
  },
);

describe.skipIf(!haveTools('docker-registry', 'openssl'))('registry client: expiring bearer tokens', () => {
  let reg: TokenRegistryServer;
  beforeAll(async () => {
    // Tokens valid 2 s (the client renews early); the first one issued is stale already.
    reg = await startTokenRegistry({ expiresIn: 2, keyRef: 'kid', issueExpired: 1 });
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('a token the registry refuses as expired is replaced once; a cached one is renewed when it expires', async () => {
    const r = await connectRegistry(reg.host, {
      username: reg.username,
      password: reg.password,
      logger: memoryLogger(),
    });
    // The stale token gets a 401; the client drops it, fetches a fresh one and succeeds.
    expect(await r.head('exp/app', 'v1')).toBeUndefined();
    expect(reg.tokens.requests).toHaveLength(2);
    expect(await r.head('exp/app', 'v1')).toBeUndefined();
    expect(reg.tokens.requests).toHaveLength(2);
    // (kid-referenced signing keys are accepted by the registry as well as x5c chains.)
    await new Promise((res) => setTimeout(res, 2100));
    expect(await r.head('exp/app', 'v1')).toBeUndefined();
    expect(reg.tokens.requests).toHaveLength(3);
  });
});
