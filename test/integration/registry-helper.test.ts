import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveTools } from '../helpers/tools.js';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';

describe.skipIf(!haveTools('docker-registry'))('registry test helper', () => {
  let plain: RegistryServer;
  let basic: RegistryServer;
  beforeAll(async () => {
    [plain, basic] = await Promise.all([startRegistry(), startRegistry({ auth: 'basic' })]);
  });
  afterAll(async () => {
    await Promise.all([plain?.stop(), basic?.stop()]);
  });

  it('starts a plain registry that answers /v2/', async () => {
    expect((await fetch(`${plain.url}/v2/`)).status).toBe(200);
  });

  it('starts a registry with htpasswd basic auth that refuses anonymous and wrong credentials', async () => {
    expect((await fetch(`${basic.url}/v2/`)).status).toBe(401);
    const good = Buffer.from(`${basic.username}:${basic.password}`).toString('base64');
    const bad = Buffer.from(`${basic.username}:nope`).toString('base64');
    expect((await fetch(`${basic.url}/v2/`, { headers: { authorization: `Basic ${good}` } })).status).toBe(
      200,
    );
    expect((await fetch(`${basic.url}/v2/`, { headers: { authorization: `Basic ${bad}` } })).status).toBe(
      401,
    );
  });
});
