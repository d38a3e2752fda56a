import type { Logger } from '../../core/index.js';
import type { FeatureEnvOptions } from '../inputs.js';
import type { DatabaseProvider } from '../types.js';
import { postgresTemplateProvider, type PostgresProviderOptions } from './postgres.js';
import { rdsSnapshotProvider, type RdsProviderOptions } from './rds.js';

export { postgresTemplateProvider, type PostgresProviderOptions } from './postgres.js';
export { rdsSnapshotProvider, type RdsProviderOptions } from './rds.js';

export interface DatabaseProviderExtras {
  /**
   * postgres-template: the host (`host` or `host:port`) the environment's services use to reach the
   * shared server, when it is not the host of `db-url` (the runner and the pods often reach it by
   * different names). Default: the host and port of `db-url`.
   */
  publicHost?: string;
  postgres?: Omit<PostgresProviderOptions, 'publicHost'>;
  /** rds-snapshot: a client of its own (tests), waiting and polling. */
  rds?: RdsProviderOptions;
}

/**
 * The database provider the inputs ask for, or undefined for `database: none`. The admin URL of
 * postgres-template is a secret: it (and its password, as written and decoded) is registered with the
 * logger before anything uses it.
 */
export function databaseProvider(
  database: FeatureEnvOptions['database'],
  logger: Logger,
  /** The key of the set of environments (state.ts setKey): names, marks and tags carry it. */
  set: string,
  extras: DatabaseProviderExtras = {},
): DatabaseProvider | undefined {
  switch (database.mode) {
    case 'none':
      return undefined;
    case 'postgres-template': {
      logger.secret(database.url);
      const password = /^[^:]+:\/\/[^:@/]*:([^@/]*)@/.exec(database.url)?.[1];
      if (password) {
        logger.secret(password);
        try {
          logger.secret(decodeURIComponent(password));
        } catch {
          // not percent-encoded: registered as it is
        }
      }
      return postgresTemplateProvider(
        { url: database.url, template: database.template, set },
        { ...extras.postgres, ...(extras.publicHost ? { publicHost: extras.publicHost } : {}) },
      );
    }
    case 'rds-snapshot':
      return rdsSnapshotProvider(
        {
          sourceInstance: database.sourceInstance,
          instanceClass: database.instanceClass,
          pool: database.pool,
          set,
          ...(database.region ? { region: database.region } : {}),
        },
        extras.rds,
      );
  }
}
