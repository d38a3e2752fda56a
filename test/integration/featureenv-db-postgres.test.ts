import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { C2CError } from '../../src/core/errors.js';
import { memoryLogger } from '../../src/core/logger.js';
import { postgresMark, postgresName, postgresTemplateProvider } from '../../src/featureenv/db/postgres.js';

/** The set of environments these tests run as, and the names of its databases. */
const SET = 'acme-shop-0123456789';
const N = (n: number) => postgresName(SET, n);
import type { DatabaseInfo } from '../../src/featureenv/types.js';
import { freePort } from '../helpers/net.js';
import { havePostgres, startPostgres, type PostgresServer } from '../helpers/postgres.js';

const ident = pg.escapeIdentifier;

/** Connects as the environment would: with what claim returned. */
async function connectAs(info: DatabaseInfo): Promise<pg.Client> {
  const c = new pg.Client({
    host: info.host,
    port: info.port,
    user: info.user,
    password: info.password,
    database: info.database,
    connectionTimeoutMillis: 5000,
  });
  c.on('error', () => {});
  await c.connect();
  return c;
}

async function sqlState(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

describe.skipIf(!havePostgres())('postgres-template databases on a real PostgreSQL server', () => {
  let server: PostgresServer;
  let admin: pg.Client;

  /** A template database with a table (serial key), a row, a view, a function and an enum type. */
  const makeTemplate = async (name: string, owner?: string) => {
    await admin.query(`CREATE DATABASE ${ident(name)}${owner ? ` OWNER ${ident(owner)}` : ''}`);
    const c = await server.connect({
      database: name,
      ...(owner ? { user: owner, password: 'owner-pw' } : {}),
    });
    await c.query(`CREATE TYPE mood AS ENUM ('happy', 'sad')`);
    await c.query(`CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, m mood)`);
    await c.query(`INSERT INTO items (name, m) VALUES ('from the template', 'happy')`);
    await c.query(`CREATE VIEW item_names AS SELECT name FROM items`);
    await c.query(`CREATE FUNCTION item_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM items'`);
    await c.end();
  };

  beforeAll(async () => {
    server = await startPostgres();
    admin = await server.connect();
    await makeTemplate('shop_integration');
  });
  afterAll(async () => {
    await admin?.end();
    await server?.stop();
  });

  const provider = (template = 'shop_integration', opts = {}) =>
    postgresTemplateProvider({ url: server.url(), template, set: SET }, opts);

  it('claim clones the template with its data into fe_<set>_pr_<n>, owned by a role of its own that can log in', async () => {
    const logger = memoryLogger();
    const p = provider();
    const info = await p.claim({ number: 41, namespace: 'fe-pr-41' }, logger);
    expect(info).toMatchObject({
      host: '127.0.0.1',
      port: server.port,
      database: N(41),
      user: N(41),
      id: N(41),
    });
    expect(info.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(p.description).toBe(`PostgreSQL template shop_integration on 127.0.0.1:${server.port}`);
    // How old the data is (issue 16 item 1): the template made before the clone, the clone just now.
    expect(info.dataFrom).toMatchObject({ kind: 'template', name: 'shop_integration' });
    const made = Date.parse(info.dataFrom!.madeAt!);
    expect(Math.abs(made - Date.now())).toBeLessThan(60_000);
    expect(Date.parse(info.dataFrom!.at!)).toBeLessThanOrEqual(made);
    expect(Date.parse(info.dataFrom!.at!)).toBeGreaterThan(Date.now() - 3_600_000);

    const env = await connectAs(info);
    try {
      expect((await env.query('SELECT name, m FROM items')).rows).toEqual([
        { name: 'from the template', m: 'happy' },
      ]);
      // The environment owns what it got: it writes (the serial's sequence), reads the view and the
      // function, and migrates the schema.
      await env.query(`INSERT INTO items (name) VALUES ('written by the environment')`);
      expect((await env.query('SELECT item_count() AS n')).rows[0].n).toBe('2');
      expect((await env.query('SELECT count(*) AS n FROM item_names')).rows[0].n).toBe('2');
      await env.query('ALTER TABLE items ADD COLUMN price numeric');
      await env.query(`ALTER TYPE mood ADD VALUE 'curious'`);
    } finally {
      await env.end();
    }
    // The template itself is untouched.
    const t = await server.connect({ database: 'shop_integration' });
    expect((await t.query('SELECT count(*) AS n FROM items')).rows[0].n).toBe('1');
    await t.end();

    expect(logger.text()).toContain(`created database ${N(41)} from template shop_integration`);
    expect(logger.text()).not.toContain(info.password);
  });

  it('a second claim keeps the database and, given the password of the Secret, keeps it: the first credentials still log in', async () => {
    const p = provider();
    const first = await p.claim({ number: 42, namespace: 'fe-pr-42' }, memoryLogger());
    expect(first.passwordChanged).toBe(true);
    const c1 = await connectAs(first);
    await c1.query(`INSERT INTO items (name) VALUES ('kept across claims')`);
    await c1.end();

    const logger = memoryLogger();
    const second = await p.claim({ number: 42, namespace: 'fe-pr-42' }, logger, { password: first.password });
    expect(second.database).toBe(N(42));
    expect(second.password).toBe(first.password);
    expect(second.passwordChanged).toBe(false);
    // A running service holding the first credentials opens new connections as before.
    const c2 = await connectAs(first);
    expect((await c2.query('SELECT name FROM items ORDER BY id')).rows.map((r) => r.name)).toEqual([
      'from the template',
      'kept across claims',
    ]);
    await c2.end();
    expect(logger.text()).toContain(`database ${N(42)} exists`);
    expect(logger.text()).not.toContain(second.password);
  });

  it('rotate (or a Secret that is gone): a new password, the old one no longer logs in', async () => {
    const p = provider();
    const first = await p.claim({ number: 47, namespace: 'fe-pr-47' }, memoryLogger());
    const rotated = await p.claim({ number: 47, namespace: 'fe-pr-47' }, memoryLogger(), {
      password: first.password,
      rotate: true,
    });
    expect(rotated.passwordChanged).toBe(true);
    expect(rotated.password).not.toBe(first.password);
    expect(await sqlState(connectAs(first).then((c) => c.end()))).toBe('28P01'); // password authentication failed
    await (await connectAs(rotated)).end();
    const lost = await p.claim({ number: 47, namespace: 'fe-pr-47' }, memoryLogger());
    expect(lost.passwordChanged).toBe(true);
    await (await connectAs(lost)).end();
  });

  it('the server never sees the password: it gets a SCRAM verifier (statement log on)', async () => {
    await admin.query(`ALTER ROLE ${ident(server.adminUser)} SET log_statement = 'all'`);
    try {
      const before = server.log().length;
      const info = await provider().claim({ number: 43, namespace: 'fe-pr-43' }, memoryLogger());
      const stored = (await admin.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [N(43)]))
        .rows[0].rolpassword as string;
      expect(stored).toMatch(/^SCRAM-SHA-256\$4096:/);
      expect(stored).not.toContain(info.password);
      const log = server.log().slice(before);
      expect(log).toContain(`CREATE ROLE "${N(43)}" LOGIN PASSWORD`);
      expect(log).not.toContain(info.password);
      (await connectAs(info)).end(); // and the verifier is right: the password logs in
    } finally {
      await admin.query(`ALTER ROLE ${ident(server.adminUser)} RESET log_statement`);
    }
  });

  it("an environment's role cannot connect to another environment's database", async () => {
    const p = provider();
    const a = await p.claim({ number: 44, namespace: 'fe-pr-44' }, memoryLogger());
    const b = await p.claim({ number: 45, namespace: 'fe-pr-45' }, memoryLogger());
    expect(await sqlState(connectAs({ ...a, database: b.database }).then((c) => c.end()))).toBe('42501');
  });

  it('a template that sessions are connected to gives a clear message: which template, who, how to fix', async () => {
    await makeTemplate('busy_template');
    const squatter = await server.connect({ database: 'busy_template' });
    await squatter.query(`SET application_name = 'nightly-report'`);
    try {
      const logger = memoryLogger();
      const err = await provider('busy_template')
        .claim({ number: 46, namespace: 'fe-pr-46' }, logger)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(C2CError);
      const msg = (err as Error).message;
      expect(msg).toContain(`Cannot clone template database "busy_template" (db-template) for ${N(46)}`);
      expect(msg).toContain(
        `1 session is connected to it (user ${server.adminUser} from 127.0.0.1 (nightly-report))`,
      );
      expect(msg).toContain('it waited 5 s for them to leave');
      expect(msg).toContain('a copy that nobody connects to');
      expect(msg).toContain(
        `pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'busy_template'`,
      );
      expect(msg).not.toMatch(/^source database/);
      expect((await admin.query(`SELECT 1 FROM pg_database WHERE datname = '${N(46)}'`)).rowCount).toBe(0);
    } finally {
      await squatter.end();
    }
  });

  it('a missing template says so', async () => {
    const err = await provider('no_such_template')
      .claim({ number: 48, namespace: 'fe-pr-48' }, memoryLogger())
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      `Cannot clone template database "no_such_template" (db-template) for ${N(48)}: there is no such database on 127.0.0.1:${server.port}`,
    );
  });

  it('release drops the database while the environment is connected (WITH FORCE), then the role; again: false', async () => {
    const p = provider();
    const info = await p.claim({ number: 49, namespace: 'fe-pr-49' }, memoryLogger());
    const session = await connectAs(info);
    let ended: Error | undefined;
    session.on('error', (e) => (ended = e));
    const logger = memoryLogger();
    expect(await p.release({ number: 49 }, logger)).toBe(true);
    expect(logger.text()).toContain(`dropped database ${N(49)} (1 session ended) and role ${N(49)}`);
    expect((await admin.query(`SELECT 1 FROM pg_database WHERE datname = '${N(49)}'`)).rowCount).toBe(0);
    expect((await admin.query(`SELECT 1 FROM pg_roles WHERE rolname = '${N(49)}'`)).rowCount).toBe(0);
    expect(await sqlState(session.query('SELECT 1'))).toBeDefined();
    await session.end().catch(() => {});
    void ended;
    expect(await p.release({ number: 49 }, memoryLogger())).toBe(false);
  });

  it('held lists only the databases that carry the mark of the set (and a marked role left without one); release drops only those', async () => {
    // Not this set's: a name of our shape without a mark, the same pull request of another set
    // (another repository on the same server), an old-style name.
    await admin.query(`CREATE DATABASE ${ident(N(907))}`);
    await admin.query(`CREATE DATABASE fe_pr_5`);
    const other = postgresTemplateProvider({
      url: server.url(),
      template: 'shop_integration',
      set: 'other-repo-9876543210',
    });
    const theirs = await other.claim({ number: 50, namespace: 'x' }, memoryLogger());
    // A marked role whose database is gone: a release that stopped between the two drops.
    await admin.query(`CREATE ROLE ${ident(N(900))}`);
    await admin.query(`COMMENT ON ROLE ${ident(N(900))} IS ${pg.escapeLiteral(postgresMark(SET, 900))}`);
    const p = provider();
    await p.claim({ number: 50, namespace: 'fe-pr-50' }, memoryLogger());
    const held = await p.held(memoryLogger());
    expect(held.get(50)).toBe(N(50));
    expect(held.get(900)).toBe(N(900));
    expect(held.has(907)).toBe(false);
    expect(held.has(5)).toBe(false);
    expect((await other.held(memoryLogger())).get(50)).toBe(theirs.database);
    expect(theirs.database).not.toBe(N(50));
    expect(await p.release({ number: 900 }, memoryLogger())).toBe(true);
    expect((await p.held(memoryLogger())).has(900)).toBe(false);
    // The unmarked database of our name is never dropped, and never used.
    const logger = memoryLogger();
    expect(await p.release({ number: 907 }, logger)).toBe(false);
    expect(logger.text()).toMatch(/database fe_[0-9a-f]{8}_pr_907 does not carry the mark .* left alone/);
    expect((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [N(907)])).rowCount).toBe(1);
    await expect(p.claim({ number: 907, namespace: 'fe-pr-907' }, memoryLogger())).rejects.toThrow(
      /database fe_[0-9a-f]{8}_pr_907 exists but does not carry the mark of this set/,
    );
    // Releasing our PR 50 leaves the other set's PR 50 alone.
    expect(await p.release({ number: 50 }, memoryLogger())).toBe(true);
    await (await connectAs(theirs)).end();
    expect(await other.release({ number: 50 }, memoryLogger())).toBe(true);
  });

  it('names with odd characters are quoted: a template called like an injection is cloned, nothing else happens', async () => {
    const odd = `Shop "Tmpl"; DROP DATABASE shop_integration; --`;
    await makeTemplate(odd);
    const p = provider(odd);
    const info = await p.claim({ number: 51, namespace: 'fe-pr-51' }, memoryLogger());
    const env = await connectAs(info);
    expect((await env.query('SELECT count(*) AS n FROM items')).rows[0].n).toBe('1');
    await env.end();
    expect((await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'shop_integration'`)).rowCount).toBe(
      1,
    );
    expect(p.description).toBe(`PostgreSQL template ${odd} on 127.0.0.1:${server.port}`);
    // And the message of an in-use template quotes it as SQL would need it.
    const squatter = await server.connect({ database: odd });
    const err = await p.claim({ number: 52, namespace: 'fe-pr-52' }, memoryLogger()).catch((e: unknown) => e);
    await squatter.end();
    expect((err as Error).message).toContain(`datname = 'Shop "Tmpl"; DROP DATABASE shop_integration; --'`);
  });

  it('an admin URL that names the template itself: concurrent claims do not block each other on it', async () => {
    // Each claim's admin session would be "another session on the template" for the others' clones.
    const p = postgresTemplateProvider({
      url: server.url('shop_integration'),
      template: 'shop_integration',
      set: SET,
    });
    const infos = await Promise.all(
      [53, 54, 55].map((n) => p.claim({ number: n, namespace: `fe-pr-${n}` }, memoryLogger())),
    );
    expect(infos.map((i) => i.database)).toEqual([N(53), N(54), N(55)]);
  });

  it('concurrent claims for one PR (runs at the same instant) all end on its one database, none fails', async () => {
    const p = provider();
    for (let round = 0; round < 3; round++) {
      const n = 80 + round;
      const infos = await Promise.all(
        Array.from({ length: 6 }, () => p.claim({ number: n, namespace: `fe-pr-${n}` }, memoryLogger())),
      );
      expect(new Set(infos.map((i) => i.database))).toEqual(new Set([N(n)]));
      expect((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [N(n)])).rowCount).toBe(1);
    }
  });

  it('concurrent claims for five PRs from one template all get their own database', async () => {
    const p = provider();
    const infos = await Promise.all(
      [60, 61, 62, 63, 64].map((n) => p.claim({ number: n, namespace: `fe-pr-${n}` }, memoryLogger())),
    );
    expect(new Set(infos.map((i) => i.database)).size).toBe(5);
    for (const info of infos) {
      const c = await connectAs(info);
      expect((await c.query('SELECT count(*) AS n FROM items')).rows[0].n).toBe('1');
      await c.end();
    }
  });

  it('a managed-server admin (CREATEDB CREATEROLE, no superuser) claims and releases', async () => {
    await admin.query(`CREATE ROLE managed_admin LOGIN CREATEDB CREATEROLE PASSWORD 'owner-pw'`);
    await makeTemplate('managed_tmpl', 'managed_admin');
    const url = `postgres://managed_admin:owner-pw@127.0.0.1:${server.port}/postgres`;
    const p = postgresTemplateProvider({ url, template: 'managed_tmpl', set: SET });
    const info = await p.claim({ number: 70, namespace: 'fe-pr-70' }, memoryLogger());
    const env = await connectAs(info);
    expect((await env.query('SELECT name FROM items')).rows).toEqual([{ name: 'from the template' }]);
    const session = await connectAs(info);
    await env.end();
    expect(await p.release({ number: 70 }, memoryLogger())).toBe(true);
    await session.end().catch(() => {});
    expect((await admin.query(`SELECT 1 FROM pg_roles WHERE rolname = '${N(70)}'`)).rowCount).toBe(0);
  });

  it('publicHost: the host the pods use goes in the result, the admin URL is still what connects', async () => {
    const p = provider('shop_integration', { publicHost: 'shared-pg.db.svc.cluster.local:6543' });
    expect(p.description).toBe('PostgreSQL template shop_integration on shared-pg.db.svc.cluster.local:6543');
    const info = await p.claim({ number: 71, namespace: 'fe-pr-71' }, memoryLogger());
    expect(info).toMatchObject({ host: 'shared-pg.db.svc.cluster.local', port: 6543, database: N(71) });
    const noPort = provider('shop_integration', { publicHost: 'pg.internal' });
    expect(noPort.description).toBe(`PostgreSQL template shop_integration on pg.internal:${server.port}`);
    expect(() => provider('shop_integration', { publicHost: 'http://x/' })).toThrow(
      /is not a host or host:port/,
    );
  });

  it('wrong admin credentials: a clear message at once, without the password', async () => {
    const url = `postgres://${server.adminUser}:wrong-secret@127.0.0.1:${server.port}/postgres`;
    const retries: number[] = [];
    const err = await postgresTemplateProvider(
      { url, template: 'shop_integration', set: SET },
      { retry: { onRetry: (_e, a) => retries.push(a) } },
    )
      .held(memoryLogger())
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^PostgreSQL on 127\\.0\\.0\\.1:${server.port} refused the admin credentials of db-url \\(user 'c2c_admin'\\)`,
      ),
    );
    expect((err as Error).message).not.toContain('wrong-secret');
    expect(retries).toEqual([]);
  });

  it('a server that does not answer: connection errors are retried, boundedly, then reported', async () => {
    const port = await freePort();
    const retries: number[] = [];
    const logger = memoryLogger();
    const err = await postgresTemplateProvider(
      { url: `postgres://a:secret-pw@127.0.0.1:${port}/postgres`, template: 't', set: SET },
      { retry: { attempts: 3, baseDelayMs: 1, onRetry: (_e, a) => retries.push(a) } },
    )
      .release({ number: 1 }, logger)
      .catch((e: unknown) => e);
    expect(retries).toEqual([1, 2]);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^PostgreSQL on 127\\.0\\.0\\.1:${port}: release ${N(1)} failed: release ${N(1)} failed after 3 attempts.*ECONNREFUSED`,
      ),
    );
    expect(logger.text()).toContain('trying again');
  });
});
