import { describe, expect, it } from 'vitest';
import { RDSClient } from '@aws-sdk/client-rds';
import { memoryLogger } from '../../src/core/logger.js';
import { databaseProvider } from '../../src/featureenv/db/index.js';

const SET = 'acme-shop-0123456789';

describe('databaseProvider: the provider the inputs ask for', () => {
  it('none: no provider', () => {
    expect(databaseProvider({ mode: 'none' }, memoryLogger(), SET)).toBeUndefined();
  });

  it('postgres-template: the admin URL and its password never reach a log, as written or decoded', () => {
    const logger = memoryLogger();
    const url = 'postgres://admin:s3cr%40t-pw@db.internal:5433/postgres';
    const p = databaseProvider(
      { mode: 'postgres-template', url, template: 'shop_integration' },
      logger,
      SET,
    )!;
    expect(p.description).toBe('PostgreSQL template shop_integration on db.internal:5433');
    logger.info(`url ${url}, password s3cr%40t-pw, decoded s3cr@t-pw`);
    expect(logger.lines.at(-1)!.message).toBe('url ***, password ***, decoded ***');
  });

  it('postgres-template: the public host of the environments', () => {
    const p = databaseProvider(
      { mode: 'postgres-template', url: 'postgres://admin:pw@localhost:15432/postgres', template: 't' },
      memoryLogger(),
      SET,
      { publicHost: 'shared-pg.databases.svc.cluster.local' },
    )!;
    expect(p.description).toBe('PostgreSQL template t on shared-pg.databases.svc.cluster.local:15432');
  });

  it('rds-snapshot: the source, class, pool and region', async () => {
    const client = new RDSClient({ region: 'eu-west-1' });
    const p = databaseProvider(
      {
        mode: 'rds-snapshot',
        sourceInstance: 'integration-db',
        instanceClass: 'db.t4g.small',
        pool: 2,
        region: 'eu-west-1',
      },
      memoryLogger(),
      SET,
      { rds: { client } },
    )!;
    expect(p.description).toBe(
      'RDS instances restored from the newest snapshot of integration-db in eu-west-1 (db.t4g.small, pool of 2)',
    );
    await p.close();
    client.destroy();
  });
});
