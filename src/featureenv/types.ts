import type { Logger } from '../core/index.js';

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
  /** The password was set by this claim (new, or rotated): the environment's Secret must change. */
  passwordChanged?: boolean;
  /** The provider's name for it (a database name, an RDS instance identifier). */
  id: string;
  /**
   * Where its data came from and when that data was made (the template database, the snapshot): how
   * old it is, for the comment. Absent when the provider cannot tell.
   */
  dataFrom?: { kind: 'template' | 'snapshot'; name: string; at?: string; madeAt?: string };
  /** The URL scheme of the `url` key of the Secret: postgres (default), mysql. */
  scheme?: 'postgres' | 'mysql';
}

export interface ClaimOptions {
  /** The password the environment's Secret holds: kept when the database exists. */
  password?: string;
  /** A new password even when the database exists (`rotate-db-password`). */
  rotate?: boolean;
}

/**
 * A source of per-environment databases (postgres-template, rds-snapshot). Every method is
 * idempotent and safe to run again after a failure half-way.
 */
export interface DatabaseProvider {
  /** What the summary calls it: "PostgreSQL template shop_integration on db.example:5432". */
  readonly description: string;
  /**
   * The environment's own database: created (or claimed from the pool) on first call, marked as
   * this set's. A later call for the same environment returns the same database and keeps the
   * password it is given (the one in the environment's Secret): running services keep working.
   * Without one (the Secret is gone), or with `rotate`, a new password is set.
   */
  claim(env: EnvRef, logger: Logger, o?: ClaimOptions): Promise<DatabaseInfo>;
  /**
   * Deletes the environment's database: only what carries this set's mark (a database without it
   * is never dropped); false when there was none.
   */
  release(env: { number: number }, logger: Logger): Promise<boolean>;
  /** Refills the set's pool of ready, unclaimed databases to its size; what it started. */
  refill(logger: Logger): Promise<{ created: string[] }>;
  /** The set's databases held by environments, by pull request number (for reap: orphans). */
  held(logger: Logger): Promise<Map<number, string>>;
  close(): Promise<void>;
}
