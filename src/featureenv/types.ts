import type { Logger } from '../core/logger.js';

/** One pull request's environment, as the database layer knows it. */
export interface EnvRef {
  /** The pull request number. */
  number: number;
  /** The environment's namespace (where the database Secret goes). */
  namespace: string;
}

/** How the environment's services reach their database: what goes in its Secret. */
export interface DatabaseInfo {
  host: string;
  port: number;
  database: string;
  user: string;
  /** Generated for this environment; written only to its Secret, never logged. */
  password: string;
  /** The provider's name for it (a database name, an RDS instance identifier). */
  id: string;
  /** The URL scheme of the `url` key of the Secret: postgres (default), mysql. */
  scheme?: 'postgres' | 'mysql';
}

/**
 * A source of per-environment databases (postgres-template, rds-snapshot). Every method is
 * idempotent and safe to run again after a failure half-way.
 */
export interface DatabaseProvider {
  /** What the summary calls it: "PostgreSQL template shop_integration on db.example:5432". */
  readonly description: string;
  /**
   * The environment's own database: created (or claimed from the pool) on first call; a later call
   * for the same environment returns the same database with a new password (so the Secret is
   * always right after an update).
   */
  claim(env: EnvRef, logger: Logger): Promise<DatabaseInfo>;
  /** Deletes the environment's database; false when it had none. */
  release(env: { number: number }, logger: Logger): Promise<boolean>;
  /** Refills the pool of ready, unclaimed databases to its size; what it started. */
  refill(logger: Logger): Promise<{ created: string[] }>;
  /** The databases held by environments, by pull request number (for reap: orphans). */
  held(logger: Logger): Promise<Map<number, string>>;
  close(): Promise<void>;
}
