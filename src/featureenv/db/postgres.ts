import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import pg from 'pg';
import {
  C2CError,
  errorMessage,
  isTransient,
  retry,
  RetryExhaustedError,
  type RetryOptions,
} from '../../core/index.js';
import type { Logger } from '../../core/index.js';
import type { ClaimOptions, DatabaseInfo, DatabaseProvider, EnvRef } from '../types.js';

/**
 * `postgres-template`: each environment gets `CREATE DATABASE fe_<set>_pr_<n> TEMPLATE <template>` on
 * a shared server, owned by a login role of its own of the same name. The name carries a hash of the
 * set's key (many repositories and workflows share one server), and the role and the database carry
 * the set's mark (`COMMENT ON`, with the set key and the pull request): release and reap drop only
 * what carries their own mark, never a database without it. The password is generated when the role
 * is created and kept (the environment's Secret is the record); a new one only on request (rotate)
 * or when the Secret is gone. Seconds, where an RDS restore takes tens of minutes. Needs PostgreSQL 13
 * or newer (DROP DATABASE ... WITH (FORCE)).
 */
export interface PostgresTemplateConfig {
  /** Admin connection URL (a secret): a superuser, or a role with CREATEDB and CREATEROLE. */
  url: string;
  /** The database cloned for each environment. */
  template: string;
  /** The key of the set of environments (state.ts setKey): in the names and the marks. */
  set: string;
}

export interface PostgresProviderOptions {
  /**
   * The host the environment's services use to reach the server, when it is not the host of the
   * admin URL (the runner may reach it through a tunnel, a public endpoint or localhost, while the
   * pods use a cluster-internal name). `host` or `host:port` (`[v6]:port`).
   */
  publicHost?: string;
  /** The retries of connection failures (tests make them fast). */
  retry?: RetryOptions;
}

/** The database and role of an environment: `fe_<8 hex of the set key>_pr_<n>` (at most 28 bytes). */
export function postgresName(set: string, number: number): string {
  return `${namePrefix(set)}${number}`;
}

const namePrefix = (set: string) => `fe_${createHash('sha256').update(set).digest('hex').slice(0, 8)}_pr_`;

/** The mark on an environment's role and database: `COMMENT ON ... IS` this text. */
export function postgresMark(set: string, number: number): string {
  return JSON.stringify({ 'commit-to-cloud': 'feature-env', set, pr: number });
}

/** The set and pull request a comment marks, when it is one of our marks. */
function markOf(comment: string | null | undefined): { set: string; pr: number } | undefined {
  if (!comment) return undefined;
  try {
    const m = JSON.parse(comment) as { 'commit-to-cloud'?: unknown; set?: unknown; pr?: unknown };
    return m['commit-to-cloud'] === 'feature-env' && typeof m.set === 'string' && typeof m.pr === 'number'
      ? { set: m.set, pr: m.pr }
      : undefined;
  } catch {
    return undefined;
  }
}

/** SQLSTATEs worth another attempt: the server starting or shutting down, too many connections, a lost link. */
const TRANSIENT_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08006']);

function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function isTransientPgError(err: unknown): boolean {
  const code = pgCode(err);
  // Two sessions changing one catalog row at once (concurrent claims of one environment handing the
  // same objects to its role): the loser's statement fails, and doing it again succeeds.
  if (code === 'XX000' && /tuple concurrently updated/.test(errorMessage(err))) return true;
  if (code) return TRANSIENT_SQLSTATES.has(code);
  return isTransient(err) || /Connection terminated|connection timeout/i.test(errorMessage(err));
}

/**
 * The SCRAM-SHA-256 verifier of a password, as PostgreSQL stores it (RFC 5802/7677, what psql's
 * \password sends): the server, and its statement log, never see the password itself.
 */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** 32 characters of base64url: 192 random bits, safe in a URL and in a shell. */
function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}

interface Target {
  host: string;
  port: number;
}

function parseHostPort(value: string, defaultPort: number): Target {
  const v = value.trim();
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
  if (v6) return { host: v6[1]!, port: v6[2] ? Number(v6[2]) : defaultPort };
  const m = /^([^:\s/]+)(?::(\d+))?$/.exec(v);
  if (!m || (m[2] && (Number(m[2]) < 1 || Number(m[2]) > 65535)))
    throw new C2CError(
      `The database's public host '${value}' is not a host or host:port (e.g. 'shared-pg.db.svc.cluster.local:5432')`,
    );
  return { host: m[1]!, port: m[2] ? Number(m[2]) : defaultPort };
}

export function postgresTemplateProvider(
  config: PostgresTemplateConfig,
  opts: PostgresProviderOptions = {},
): DatabaseProvider {
  let admin: URL;
  try {
    admin = new URL(config.url);
  } catch {
    throw new C2CError(
      "The PostgreSQL admin URL (db-url) is not a URL: expected 'postgres://user:password@host:5432/postgres'",
    );
  }
  if (!/^postgres(ql)?:$/.test(admin.protocol))
    throw new C2CError('The PostgreSQL admin URL (db-url) is not a postgres:// URL');
  const adminHost = admin.hostname.replace(/^\[(.*)\]$/, '$1');
  const adminPort = admin.port ? Number(admin.port) : 5432;
  const adminUser = decodeURIComponent(admin.username);
  const where = `${adminHost || 'the local socket'}:${adminPort}`;
  const template = config.template;
  if (!template) throw new C2CError('The template database (db-template) is empty');
  const adminDb = decodeURIComponent(admin.pathname.replace(/^\//, '')) || adminUser || 'postgres';
  const pub = opts.publicHost
    ? parseHostPort(opts.publicHost, adminPort)
    : { host: adminHost, port: adminPort };
  if (!pub.host)
    throw new C2CError(
      'The PostgreSQL admin URL (db-url) names no host (a local socket), so the environments cannot reach it: set the public host of the server',
    );

  /** The admin URL with another database: never the template (a session on it blocks every clone). */
  const urlOf = (database: string) => {
    const u = new URL(admin.href);
    u.pathname = '/' + encodeURIComponent(database);
    return u.href;
  };
  const adminUrl = urlOf(adminDb === template ? 'postgres' : adminDb);

  const fail = (what: string, err: unknown): C2CError => {
    if (err instanceof C2CError && !(err instanceof RetryExhaustedError)) return err;
    const last = err instanceof RetryExhaustedError ? err.last : err;
    const code = pgCode(last);
    if (code === '28P01' || code === '28000')
      return new C2CError(
        `PostgreSQL on ${where} refused the admin credentials of db-url (user '${adminUser}'): ${errorMessage(last)}`,
        { cause: err },
      );
    if (code === '42501')
      return new C2CError(
        `PostgreSQL on ${where}: ${what}: ${errorMessage(last)}. The db-url user '${adminUser}' needs to be a superuser, or to have CREATEDB and CREATEROLE and own the template database`,
        { cause: err },
      );
    const detail = (last as { detail?: string })?.detail;
    return new C2CError(
      `PostgreSQL on ${where}: ${what} failed: ${errorMessage(err)}${code ? ` (SQLSTATE ${code})` : ''}${detail ? `. ${detail}` : ''}`,
      { cause: err },
    );
  };

  /** Runs fn on a fresh connection; connection failures (and a link lost mid-way) are retried, as fn is idempotent. */
  const withClient = async <T>(
    what: string,
    url: string,
    logger: Logger,
    fn: (c: pg.Client) => Promise<T>,
  ): Promise<T> => {
    try {
      return await retry(
        what,
        async () => {
          const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 15_000 });
          // An idle client whose server goes away emits 'error': the next query reports it instead.
          client.on('error', (e) => logger.debug(`PostgreSQL connection: ${errorMessage(e)}`));
          try {
            await client.connect();
            return await fn(client);
          } finally {
            await client.end().catch(() => {});
          }
        },
        {
          ...opts.retry,
          retryable: isTransientPgError,
          onRetry: (err, attempt, delay) => {
            logger.info(
              `PostgreSQL on ${where}: ${errorMessage(err)}; trying again in ${delay} ms (attempt ${attempt + 1})`,
            );
            opts.retry?.onRetry?.(err, attempt, delay);
          },
        },
      );
    } catch (err) {
      throw fail(what, err);
    }
  };

  const { escapeIdentifier: ident, escapeLiteral: literal } = pg;

  /** Who is connected to the template, for the message that says why it cannot be cloned. */
  const templateSessions = async (client: pg.Client): Promise<string[]> => {
    try {
      const r = await client.query<{
        usename: string | null;
        application_name: string;
        client_addr: string | null;
      }>(
        'SELECT usename, application_name, host(client_addr) AS client_addr FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [template],
      );
      return r.rows.map(
        (s) =>
          `${s.usename ? `user ${s.usename}` : 'a session'}${s.client_addr ? ` from ${s.client_addr}` : ''}${s.application_name ? ` (${s.application_name})` : ''}`,
      );
    } catch {
      return [];
    }
  };

  /** The template's objects in the clone become the role's: the environment may read, write and migrate them. */
  const takeOwnership = async (client: pg.Client, role: string, logger: Logger): Promise<void> => {
    const notSystem = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'`;
    const notExtension = (catalog: string, oid: string) =>
      `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${catalog}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`;
    const { rows } = await client.query<{ stmt: string }>(
      `WITH r AS (SELECT oid FROM pg_roles WHERE rolname = $1)
       SELECT format('ALTER SCHEMA %I OWNER TO %I', n.nspname, $1) AS stmt, 1 AS ord
         FROM pg_namespace n WHERE ${notSystem} AND n.nspowner <> (SELECT oid FROM r)
           AND n.nspowner NOT IN (SELECT oid FROM pg_roles WHERE rolname = 'pg_database_owner') AND ${notExtension('pg_namespace', 'n.oid')}
       UNION ALL
       SELECT format('ALTER %s %s OWNER TO %I',
                CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                  WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, c.oid::regclass, $1),
              CASE c.relkind WHEN 'S' THEN 3 ELSE 2 END
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND ${notSystem} AND c.relowner <> (SELECT oid FROM r)
          AND ${notExtension('pg_class', 'c.oid')}
          AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                   AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
       UNION ALL
       SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, $1), 4
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE ${notSystem} AND p.proowner <> (SELECT oid FROM r) AND ${notExtension('pg_proc', 'p.oid')}
       UNION ALL
       SELECT format('ALTER %s %s OWNER TO %I', CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, t.oid::regtype, $1), 5
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE ${notSystem} AND t.typowner <> (SELECT oid FROM r) AND t.typtype IN ('b', 'c', 'd', 'e', 'r')
          AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
          AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid)
          AND ${notExtension('pg_type', 't.oid')}
       ORDER BY ord`,
      [role],
    );
    const refused: string[] = [];
    for (const { stmt } of rows) {
      try {
        await client.query(stmt);
      } catch (err) {
        if (pgCode(err) !== '42501') throw err;
        refused.push(stmt.replace(/^ALTER (.*) OWNER TO .*$/, '$1'));
      }
    }
    if (rows.length)
      logger.debug(`PostgreSQL: ${rows.length - refused.length} object(s) of ${role} now owned by it`);
    if (refused.length)
      logger.warning(
        `PostgreSQL: the db-url user '${adminUser}' may not give ${refused.length} object(s) of the template to ${role} (${refused.slice(0, 5).join(', ')}${refused.length > 5 ? ', …' : ''}); the environment may lack privileges on them. Use a superuser, or make the template's objects belong to '${adminUser}'`,
      );
  };

  /**
   * Claims and releases of one environment's database run one at a time on the server (runs for one
   * pull request at the same instant): a session advisory lock on the name, released when the
   * connection ends.
   */
  const lockName = async (c: pg.Client, name: string) => {
    const key = createHash('sha256').update(`commit-to-cloud:${name}`).digest().readBigInt64BE(0);
    await c.query('SELECT pg_advisory_lock($1)', [key.toString()]);
  };

  /** Whether a comment is this set's mark for pull request `pr`. */
  const marks = (comment: string | null | undefined, pr: number) => {
    const m = markOf(comment);
    return m?.set === config.set && m.pr === pr;
  };

  /** A role's comment (our mark, when it is ours), or undefined when there is no such role. */
  const roleOf = async (c: pg.Client, name: string) =>
    (
      await c.query<{ comment: string | null }>(
        "SELECT shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = $1",
        [name],
      )
    ).rows[0];

  /** A database's comment and owner, or undefined when there is no such database. */
  const databaseOf = async (c: pg.Client, name: string) =>
    (
      await c.query<{ comment: string | null; owner: string }>(
        "SELECT shobj_description(oid, 'pg_database') AS comment, pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1",
        [name],
      )
    ).rows[0];

  const notOurs = (what: string, name: string, comment: string | null | undefined) =>
    new C2CError(
      `PostgreSQL on ${where}: ${what} ${name} exists but does not carry the mark of this set of environments (${comment ? `its comment is ${literal(comment.slice(0, 200))}` : 'it has no comment'}): it is someone else's, so it is neither used, changed nor dropped. Remove it by hand if nobody needs it.`,
    );

  return {
    description: `PostgreSQL template ${template} on ${pub.host}:${pub.port}`,

    async claim(env: EnvRef, logger: Logger, o: ClaimOptions = {}): Promise<DatabaseInfo> {
      const name = postgresName(config.set, env.number);
      const mark = postgresMark(config.set, env.number);
      const ours = (comment: string | null | undefined) => marks(comment, env.number);
      // The Secret's password is kept unless a rotation is asked for (running services hold it).
      let password = o.password && !o.rotate ? o.password : undefined;
      let changed = false;
      const newPassword = () => {
        password = generatePassword();
        logger.secret(password);
        changed = true;
        return scramVerifier(password);
      };
      const started = Date.now();
      const created = await withClient(`claim ${name}`, adminUrl, logger, async (c) => {
        await lockName(c, name);
        const superuser = (
          await c.query<{ s: boolean }>('SELECT rolsuper AS s FROM pg_roles WHERE rolname = current_user')
        ).rows[0]?.s;
        // The role: created and marked, or (ours) kept; the server gets a SCRAM verifier, never the password.
        let role = await roleOf(c, name);
        if (role && !ours(role.comment)) throw notOurs('role', name, role.comment);
        if (!role) {
          const verifier = newPassword();
          try {
            await c.query(`CREATE ROLE ${ident(name)} LOGIN PASSWORD ${literal(verifier)}`);
          } catch (err) {
            // 42710; or 23505 when the two CREATEs raced in the catalog itself (pg_authid's unique index)
            if (pgCode(err) !== '42710' && pgCode(err) !== '23505') throw err;
            // Created meanwhile: by a concurrent claim of this environment only if it carries our mark.
            role = await roleOf(c, name);
            if (!role || (role.comment !== null && !ours(role.comment)))
              throw notOurs('role', name, role?.comment);
            await c.query(`ALTER ROLE ${ident(name)} WITH LOGIN PASSWORD ${literal(verifier)}`);
          }
          await c.query(`COMMENT ON ROLE ${ident(name)} IS ${literal(mark)}`);
        } else if (!password) {
          await c.query(`ALTER ROLE ${ident(name)} WITH LOGIN PASSWORD ${literal(newPassword())}`);
        }
        // A non-superuser admin (a managed server's) may only make databases it can act as the owner of.
        if (!superuser) await c.query(`GRANT ${ident(name)} TO CURRENT_USER`);

        const db = await databaseOf(c, name);
        if (db) {
          // Ours: marked, or owned by our (marked) role (a claim that ended between CREATE and COMMENT).
          if (!ours(db.comment) && db.owner !== name) throw notOurs('database', name, db.comment);
          if (!ours(db.comment)) await c.query(`COMMENT ON DATABASE ${ident(name)} IS ${literal(mark)}`);
          return false;
        }
        // PostgreSQL itself waits up to 5 s for sessions on the template to leave before refusing.
        try {
          await c.query(`CREATE DATABASE ${ident(name)} TEMPLATE ${ident(template)} OWNER ${ident(name)}`);
        } catch (last) {
          const code = pgCode(last);
          if (code === '42P04' || code === '23505') {
            // made meanwhile by a concurrent claim (23505: the two CREATEs raced in pg_database's
            // unique index): ours only when our role owns it
            const made = await databaseOf(c, name);
            if (!made || made.owner !== name) throw notOurs('database', name, made?.comment);
          } else if (code === '55006') {
            const sessions = await templateSessions(c);
            const detail = (last as { detail?: string }).detail;
            throw new C2CError(
              `Cannot clone template database "${template}" (db-template) for ${name}: ${
                sessions.length
                  ? `${sessions.length} session${sessions.length === 1 ? ' is' : 's are'} connected to it (${sessions.join('; ')})`
                  : `other sessions are connected to it${detail ? ` (${detail.replace(/\.$/, '')})` : ''}`
              }, and PostgreSQL copies a database only while nobody is connected to it (it waited 5 s for them to leave). Use as db-template a copy that nobody connects to (e.g. a nightly 'CREATE DATABASE ${ident(`${template}_template`)} TEMPLATE ${ident(template)}', then 'ALTER DATABASE ${ident(`${template}_template`)} ALLOW_CONNECTIONS false'), or disconnect them ('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${literal(template)}').`,
              { cause: last },
            );
          } else if (code === '3D000') {
            throw new C2CError(
              `Cannot clone template database "${template}" (db-template) for ${name}: there is no such database on ${where}`,
              { cause: last },
            );
          } else throw last;
        }
        await c.query(`COMMENT ON DATABASE ${ident(name)} IS ${literal(mark)}`);
        // Only the environment's role (and the admin) may connect to its database.
        await c.query(`REVOKE ALL ON DATABASE ${ident(name)} FROM PUBLIC`);
        return true;
      });
      // The template's tables, views, sequences, routines and types become the role's (every time: a
      // claim that failed half-way is finished by the next one).
      const ages = await withClient(
        `claim ${name}: hand the template's objects to ${name}`,
        urlOf(name),
        logger,
        async (c) => {
          await takeOwnership(c, name, logger);
          return madeAt(c, [name, template]);
        },
      );
      logger.info(
        created
          ? `PostgreSQL: created database ${name} from template ${template} on ${where}, owned by role ${name} (${((Date.now() - started) / 1000).toFixed(1)}s)`
          : `PostgreSQL: database ${name} exists on ${where}: kept${changed ? `, with a new password for role ${name}` : ', and its password'}`,
      );
      return {
        host: pub.host,
        port: pub.port,
        database: name,
        user: name,
        password: password!,
        passwordChanged: changed,
        id: name,
        dataFrom: {
          kind: 'template',
          name: template,
          ...(ages.get(template) ? { at: ages.get(template)! } : {}),
          ...(ages.get(name) ? { madeAt: ages.get(name)! } : {}),
        },
      };
    },

    async release(env: { number: number }, logger: Logger): Promise<boolean> {
      const name = postgresName(config.set, env.number);
      const ours = (comment: string | null | undefined) => marks(comment, env.number);
      return withClient(`release ${name}`, adminUrl, logger, async (c) => {
        await lockName(c, name);
        const role = await roleOf(c, name);
        const db = await databaseOf(c, name);
        const roleOurs = !!role && ours(role.comment);
        const dbOurs = !!db && (ours(db.comment) || (roleOurs && db.owner === name));
        for (const [what, found, mine] of [
          ['database', db, dbOurs],
          ['role', role, roleOurs],
        ] as const)
          if (found && !mine)
            logger.warning(
              `PostgreSQL on ${where}: ${what} ${name} does not carry the mark of this set of environments: left alone (never dropped)`,
            );
        const sessions = dbOurs
          ? Number(
              (
                await c.query<{ n: string }>(
                  'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1',
                  [name],
                )
              ).rows[0]?.n ?? 0,
            )
          : 0;
        if (dbOurs) {
          try {
            // FORCE (PostgreSQL 13+): the environment's sessions are ended rather than blocking the drop.
            await c.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
          } catch (err) {
            if (pgCode(err) === '42601')
              throw new C2CError(
                `PostgreSQL on ${where} does not know DROP DATABASE ... WITH (FORCE): postgres-template needs PostgreSQL 13 or newer`,
                { cause: err },
              );
            throw err;
          }
        }
        if (roleOurs) {
          try {
            await c.query(`DROP ROLE IF EXISTS ${ident(name)}`);
          } catch (err) {
            if (pgCode(err) === '2BP01')
              throw new C2CError(
                `PostgreSQL on ${where}: database ${name} was dropped, but role ${name} still owns objects or holds privileges elsewhere (${(err as { detail?: string }).detail ?? errorMessage(err)}); in each database listed: 'REASSIGN OWNED BY ${name} TO ${adminUser}; DROP OWNED BY ${name}', then run down again`,
                { cause: err },
              );
            throw err;
          }
        }
        if (dbOurs || roleOurs)
          logger.info(
            `PostgreSQL: dropped ${[dbOurs ? `database ${name}${sessions ? ` (${sessions} session${sessions === 1 ? '' : 's'} ended)` : ''}` : '', roleOurs ? `role ${name}` : ''].filter(Boolean).join(' and ')} on ${where}`,
          );
        return dbOurs || roleOurs;
      });
    },

    async refill(): Promise<{ created: string[] }> {
      return { created: [] }; // a clone takes seconds: no pool
    },

    async held(logger: Logger): Promise<Map<number, string>> {
      return withClient('list the environment databases', adminUrl, logger, async (c) => {
        const { rows } = await c.query<{ name: string; comment: string | null; owner: string | null }>(
          `SELECT d.datname AS name, shobj_description(d.oid, 'pg_database') AS comment, pg_get_userbyid(d.datdba) AS owner
             FROM pg_database d WHERE starts_with(d.datname, $1)
           UNION ALL
           SELECT r.rolname, shobj_description(r.oid, 'pg_authid'), NULL FROM pg_roles r WHERE starts_with(r.rolname, $1)`,
          [namePrefix(config.set)],
        );
        const marked = new Map<string, number>();
        for (const r of rows) {
          const m = markOf(r.comment);
          if (m?.set === config.set && r.name === postgresName(config.set, m.pr)) marked.set(r.name, m.pr);
        }
        const held = new Map<number, string>();
        for (const r of rows) {
          // A database counts when marked, or owned by its marked role (a claim that ended half-way).
          const pr = marked.get(r.name) ?? (r.owner === r.name ? marked.get(r.owner) : undefined);
          if (pr !== undefined) held.set(pr, r.name);
        }
        return new Map([...held].sort((a, b) => a[0] - b[0]));
      });
    },

    async close(): Promise<void> {
      // A connection per call: nothing stays open.
    },
  };
}

/**
 * When each database was made: its directory's PG_VERSION file is written by CREATE DATABASE and
 * never again. Reading it takes a superuser or pg_read_server_files; without, the ages are unknown
 * (an empty map), and the comment says only where the data came from.
 */
async function madeAt(c: pg.Client, names: string[]): Promise<Map<string, string>> {
  try {
    const r = await c.query<{ datname: string; made: Date }>(
      `SELECT datname, (pg_stat_file('base/' || oid || '/PG_VERSION')).modification AS made FROM pg_database WHERE datname = ANY($1)`,
      [names],
    );
    return new Map(r.rows.map((row) => [row.datname, new Date(row.made).toISOString()]));
  } catch {
    return new Map();
  }
}
