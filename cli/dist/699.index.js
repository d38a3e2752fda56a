export const id = 699;
export const ids = [699];
export const modules = {

/***/ 1093:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   i: () => (/* binding */ AwsCallError),
/* harmony export */   u: () => (/* binding */ awsCall)
/* harmony export */ });
/* harmony import */ var _core_index_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(3828);
/* harmony import */ var _core_index_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(7493);
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(76762);


/** An AWS call that failed for a reason of AWS's (not the credentials, not the region): its error name kept. */
class AwsCallError extends _core_index_js__WEBPACK_IMPORTED_MODULE_0__/* .C2CError */ .n$ {
    awsName;
    name = 'AwsCallError';
    constructor(message, awsName, cause) {
        super(message, { cause });
        this.awsName = awsName;
    }
}
/**
 * Every AWS call of the engine: our bounded retries (throttling, 5xx, the network; the SDK's own
 * are off), then one clear error: no credentials, credentials refused (with the actions they need),
 * no region, or AWS's own error (AwsCallError, its name kept for the caller to read).
 */
async function awsCall(o, what, logger, fn) {
    const label = `${o.service} ${what}`;
    try {
        return await (0,_core_index_js__WEBPACK_IMPORTED_MODULE_1__/* .retry */ .L5)(label, fn, {
            ...o.retry,
            retryable: _errors_js__WEBPACK_IMPORTED_MODULE_2__/* .isTransientAwsError */ .Sc,
            onRetry: (err, attempt, delay) => {
                logger.info(`${label}: ${(0,_errors_js__WEBPACK_IMPORTED_MODULE_2__/* .awsErrorOf */ .LD)(err)?.name ?? 'error'}: ${(0,_core_index_js__WEBPACK_IMPORTED_MODULE_0__/* .errorMessage */ .gJ)(err)}; trying again in ${delay} ms`);
                o.retry?.onRetry?.(err, attempt, delay);
            },
        });
    }
    catch (err) {
        const e = (0,_errors_js__WEBPACK_IMPORTED_MODULE_2__/* .awsErrorOf */ .LD)(err);
        if (e?.name === 'CredentialsProviderError')
            throw new _core_index_js__WEBPACK_IMPORTED_MODULE_0__/* .C2CError */ .n$(`${label}: no AWS credentials found by the default credential chain. Configure AWS credentials before this step (e.g. aws-actions/configure-aws-credentials)`, { cause: err });
        if ((0,_errors_js__WEBPACK_IMPORTED_MODULE_2__/* .isAwsCredentialError */ .lj)(e))
            throw new _core_index_js__WEBPACK_IMPORTED_MODULE_0__/* .C2CError */ .n$(`${label}: AWS refused the credentials (${e.name}: ${e.message ?? ''}). Check that they allow ${o.permissions}`, { cause: err });
        if (/region is missing/i.test(e?.message ?? ''))
            throw new _core_index_js__WEBPACK_IMPORTED_MODULE_0__/* .C2CError */ .n$(`${label}: no AWS region: set aws-region (or AWS_REGION)`, { cause: err });
        throw new AwsCallError(err instanceof _core_index_js__WEBPACK_IMPORTED_MODULE_1__/* .RetryExhaustedError */ .aB
            ? err.message
            : `${label} failed: ${e?.name ? `${e.name}: ` : ''}${e?.message ?? String(err)}`, e?.name, err);
    }
}


/***/ }),

/***/ 79699:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  databaseProvider: () => (/* binding */ databaseProvider),
  postgresTemplateProvider: () => (/* reexport */ postgresTemplateProvider),
  rdsSnapshotProvider: () => (/* reexport */ rdsSnapshotProvider)
});

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(77598);
// EXTERNAL MODULE: ./node_modules/pg/esm/index.mjs
var esm = __webpack_require__(83849);
// EXTERNAL MODULE: ./lib/core/errors.js
var errors = __webpack_require__(3828);
// EXTERNAL MODULE: ./lib/core/retry.js
var retry = __webpack_require__(7493);
;// CONCATENATED MODULE: ./lib/featureenv/db/postgres.js



/** The database and role of an environment: `fe_<8 hex of the set key>_pr_<n>` (at most 28 bytes). */
function postgresName(set, number) {
    return `${namePrefix(set)}${number}`;
}
const namePrefix = (set) => `fe_${(0,external_node_crypto_.createHash)('sha256').update(set).digest('hex').slice(0, 8)}_pr_`;
/** The mark on an environment's role and database: `COMMENT ON ... IS` this text. */
function postgresMark(set, number) {
    return JSON.stringify({ 'commit-to-cloud': 'feature-env', set, pr: number });
}
/** The set and pull request a comment marks, when it is one of our marks. */
function markOf(comment) {
    if (!comment)
        return undefined;
    try {
        const m = JSON.parse(comment);
        return m['commit-to-cloud'] === 'feature-env' && typeof m.set === 'string' && typeof m.pr === 'number'
            ? { set: m.set, pr: m.pr }
            : undefined;
    }
    catch {
        return undefined;
    }
}
/** SQLSTATEs worth another attempt: the server starting or shutting down, too many connections, a lost link. */
const TRANSIENT_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08006']);
function pgCode(err) {
    const code = err?.code;
    return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
function isTransientPgError(err) {
    const code = pgCode(err);
    // Two sessions changing one catalog row at once (concurrent claims of one environment handing the
    // same objects to its role): the loser's statement fails, and doing it again succeeds.
    if (code === 'XX000' && /tuple concurrently updated/.test((0,errors/* errorMessage */.gJ)(err)))
        return true;
    if (code)
        return TRANSIENT_SQLSTATES.has(code);
    return (0,retry/* isTransient */.dg)(err) || /Connection terminated|connection timeout/i.test((0,errors/* errorMessage */.gJ)(err));
}
/**
 * The SCRAM-SHA-256 verifier of a password, as PostgreSQL stores it (RFC 5802/7677, what psql's
 * \password sends): the server, and its statement log, never see the password itself.
 */
function scramVerifier(password, salt = (0,external_node_crypto_.randomBytes)(16), iterations = 4096) {
    const salted = (0,external_node_crypto_.pbkdf2Sync)(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
    const clientKey = (0,external_node_crypto_.createHmac)('sha256', salted).update('Client Key').digest();
    const storedKey = (0,external_node_crypto_.createHash)('sha256').update(clientKey).digest();
    const serverKey = (0,external_node_crypto_.createHmac)('sha256', salted).update('Server Key').digest();
    return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
/** 32 characters of base64url: 192 random bits, safe in a URL and in a shell. */
function generatePassword() {
    return (0,external_node_crypto_.randomBytes)(24).toString('base64url');
}
function parseHostPort(value, defaultPort) {
    const v = value.trim();
    const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
    if (v6)
        return { host: v6[1], port: v6[2] ? Number(v6[2]) : defaultPort };
    const m = /^([^:\s/]+)(?::(\d+))?$/.exec(v);
    if (!m || (m[2] && (Number(m[2]) < 1 || Number(m[2]) > 65535)))
        throw new errors/* C2CError */.n$(`The database's public host '${value}' is not a host or host:port (e.g. 'shared-pg.db.svc.cluster.local:5432')`);
    return { host: m[1], port: m[2] ? Number(m[2]) : defaultPort };
}
function postgresTemplateProvider(config, opts = {}) {
    let admin;
    try {
        admin = new URL(config.url);
    }
    catch {
        throw new errors/* C2CError */.n$("The PostgreSQL admin URL (db-url) is not a URL: expected 'postgres://user:password@host:5432/postgres'");
    }
    if (!/^postgres(ql)?:$/.test(admin.protocol))
        throw new errors/* C2CError */.n$('The PostgreSQL admin URL (db-url) is not a postgres:// URL');
    const adminHost = admin.hostname.replace(/^\[(.*)\]$/, '$1');
    const adminPort = admin.port ? Number(admin.port) : 5432;
    const adminUser = decodeURIComponent(admin.username);
    const where = `${adminHost || 'the local socket'}:${adminPort}`;
    const template = config.template;
    if (!template)
        throw new errors/* C2CError */.n$('The template database (db-template) is empty');
    const adminDb = decodeURIComponent(admin.pathname.replace(/^\//, '')) || adminUser || 'postgres';
    const pub = opts.publicHost
        ? parseHostPort(opts.publicHost, adminPort)
        : { host: adminHost, port: adminPort };
    if (!pub.host)
        throw new errors/* C2CError */.n$('The PostgreSQL admin URL (db-url) names no host (a local socket), so the environments cannot reach it: set the public host of the server');
    /** The admin URL with another database: never the template (a session on it blocks every clone). */
    const urlOf = (database) => {
        const u = new URL(admin.href);
        u.pathname = '/' + encodeURIComponent(database);
        return u.href;
    };
    const adminUrl = urlOf(adminDb === template ? 'postgres' : adminDb);
    const fail = (what, err) => {
        if (err instanceof errors/* C2CError */.n$ && !(err instanceof retry/* RetryExhaustedError */.aB))
            return err;
        const last = err instanceof retry/* RetryExhaustedError */.aB ? err.last : err;
        const code = pgCode(last);
        if (code === '28P01' || code === '28000')
            return new errors/* C2CError */.n$(`PostgreSQL on ${where} refused the admin credentials of db-url (user '${adminUser}'): ${(0,errors/* errorMessage */.gJ)(last)}`, { cause: err });
        if (code === '42501')
            return new errors/* C2CError */.n$(`PostgreSQL on ${where}: ${what}: ${(0,errors/* errorMessage */.gJ)(last)}. The db-url user '${adminUser}' needs to be a superuser, or to have CREATEDB and CREATEROLE and own the template database`, { cause: err });
        const detail = last?.detail;
        return new errors/* C2CError */.n$(`PostgreSQL on ${where}: ${what} failed: ${(0,errors/* errorMessage */.gJ)(err)}${code ? ` (SQLSTATE ${code})` : ''}${detail ? `. ${detail}` : ''}`, { cause: err });
    };
    /** Runs fn on a fresh connection; connection failures (and a link lost mid-way) are retried, as fn is idempotent. */
    const withClient = async (what, url, logger, fn) => {
        try {
            return await (0,retry/* retry */.L5)(what, async () => {
                const client = new esm/* default.Client */.Ay.Client({ connectionString: url, connectionTimeoutMillis: 15_000 });
                // An idle client whose server goes away emits 'error': the next query reports it instead.
                client.on('error', (e) => logger.debug(`PostgreSQL connection: ${(0,errors/* errorMessage */.gJ)(e)}`));
                try {
                    await client.connect();
                    return await fn(client);
                }
                finally {
                    await client.end().catch(() => { });
                }
            }, {
                ...opts.retry,
                retryable: isTransientPgError,
                onRetry: (err, attempt, delay) => {
                    logger.info(`PostgreSQL on ${where}: ${(0,errors/* errorMessage */.gJ)(err)}; trying again in ${delay} ms (attempt ${attempt + 1})`);
                    opts.retry?.onRetry?.(err, attempt, delay);
                },
            });
        }
        catch (err) {
            throw fail(what, err);
        }
    };
    const { escapeIdentifier: ident, escapeLiteral: literal } = esm/* default */.Ay;
    /** Who is connected to the template, for the message that says why it cannot be cloned. */
    const templateSessions = async (client) => {
        try {
            const r = await client.query('SELECT usename, application_name, host(client_addr) AS client_addr FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [template]);
            return r.rows.map((s) => `${s.usename ? `user ${s.usename}` : 'a session'}${s.client_addr ? ` from ${s.client_addr}` : ''}${s.application_name ? ` (${s.application_name})` : ''}`);
        }
        catch {
            return [];
        }
    };
    /** The template's objects in the clone become the role's: the environment may read, write and migrate them. */
    const takeOwnership = async (client, role, logger) => {
        const notSystem = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'`;
        const notExtension = (catalog, oid) => `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${catalog}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`;
        const { rows } = await client.query(`WITH r AS (SELECT oid FROM pg_roles WHERE rolname = $1)
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
       ORDER BY ord`, [role]);
        const refused = [];
        for (const { stmt } of rows) {
            try {
                await client.query(stmt);
            }
            catch (err) {
                if (pgCode(err) !== '42501')
                    throw err;
                refused.push(stmt.replace(/^ALTER (.*) OWNER TO .*$/, '$1'));
            }
        }
        if (rows.length)
            logger.debug(`PostgreSQL: ${rows.length - refused.length} object(s) of ${role} now owned by it`);
        if (refused.length)
            logger.warning(`PostgreSQL: the db-url user '${adminUser}' may not give ${refused.length} object(s) of the template to ${role} (${refused.slice(0, 5).join(', ')}${refused.length > 5 ? ', …' : ''}); the environment may lack privileges on them. Use a superuser, or make the template's objects belong to '${adminUser}'`);
    };
    /**
     * Claims and releases of one environment's database run one at a time on the server (runs for one
     * pull request at the same instant): a session advisory lock on the name, released when the
     * connection ends.
     */
    const lockName = async (c, name) => {
        const key = (0,external_node_crypto_.createHash)('sha256').update(`commit-to-cloud:${name}`).digest().readBigInt64BE(0);
        await c.query('SELECT pg_advisory_lock($1)', [key.toString()]);
    };
    /** Whether a comment is this set's mark for pull request `pr`. */
    const marks = (comment, pr) => {
        const m = markOf(comment);
        return m?.set === config.set && m.pr === pr;
    };
    /** A role's comment (our mark, when it is ours), or undefined when there is no such role. */
    const roleOf = async (c, name) => (await c.query("SELECT shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = $1", [name])).rows[0];
    /** A database's comment and owner, or undefined when there is no such database. */
    const databaseOf = async (c, name) => (await c.query("SELECT shobj_description(oid, 'pg_database') AS comment, pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1", [name])).rows[0];
    const notOurs = (what, name, comment) => new errors/* C2CError */.n$(`PostgreSQL on ${where}: ${what} ${name} exists but does not carry the mark of this set of environments (${comment ? `its comment is ${literal(comment.slice(0, 200))}` : 'it has no comment'}): it is someone else's, so it is neither used, changed nor dropped. Remove it by hand if nobody needs it.`);
    return {
        description: `PostgreSQL template ${template} on ${pub.host}:${pub.port}`,
        async claim(env, logger, o = {}) {
            const name = postgresName(config.set, env.number);
            const mark = postgresMark(config.set, env.number);
            const ours = (comment) => marks(comment, env.number);
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
                const superuser = (await c.query('SELECT rolsuper AS s FROM pg_roles WHERE rolname = current_user')).rows[0]?.s;
                // The role: created and marked, or (ours) kept; the server gets a SCRAM verifier, never the password.
                let role = await roleOf(c, name);
                if (role && !ours(role.comment))
                    throw notOurs('role', name, role.comment);
                if (!role) {
                    const verifier = newPassword();
                    try {
                        await c.query(`CREATE ROLE ${ident(name)} LOGIN PASSWORD ${literal(verifier)}`);
                    }
                    catch (err) {
                        // 42710; or 23505 when the two CREATEs raced in the catalog itself (pg_authid's unique index)
                        if (pgCode(err) !== '42710' && pgCode(err) !== '23505')
                            throw err;
                        // Created meanwhile: by a concurrent claim of this environment only if it carries our mark.
                        role = await roleOf(c, name);
                        if (!role || (role.comment !== null && !ours(role.comment)))
                            throw notOurs('role', name, role?.comment);
                        await c.query(`ALTER ROLE ${ident(name)} WITH LOGIN PASSWORD ${literal(verifier)}`);
                    }
                    await c.query(`COMMENT ON ROLE ${ident(name)} IS ${literal(mark)}`);
                }
                else if (!password) {
                    await c.query(`ALTER ROLE ${ident(name)} WITH LOGIN PASSWORD ${literal(newPassword())}`);
                }
                // A non-superuser admin (a managed server's) may only make databases it can act as the owner of.
                if (!superuser)
                    await c.query(`GRANT ${ident(name)} TO CURRENT_USER`);
                const db = await databaseOf(c, name);
                if (db) {
                    // Ours: marked, or owned by our (marked) role (a claim that ended between CREATE and COMMENT).
                    if (!ours(db.comment) && db.owner !== name)
                        throw notOurs('database', name, db.comment);
                    if (!ours(db.comment))
                        await c.query(`COMMENT ON DATABASE ${ident(name)} IS ${literal(mark)}`);
                    return false;
                }
                // PostgreSQL itself waits up to 5 s for sessions on the template to leave before refusing.
                try {
                    await c.query(`CREATE DATABASE ${ident(name)} TEMPLATE ${ident(template)} OWNER ${ident(name)}`);
                }
                catch (last) {
                    const code = pgCode(last);
                    if (code === '42P04' || code === '23505') {
                        // made meanwhile by a concurrent claim (23505: the two CREATEs raced in pg_database's
                        // unique index): ours only when our role owns it
                        const made = await databaseOf(c, name);
                        if (!made || made.owner !== name)
                            throw notOurs('database', name, made?.comment);
                    }
                    else if (code === '55006') {
                        const sessions = await templateSessions(c);
                        const detail = last.detail;
                        throw new errors/* C2CError */.n$(`Cannot clone template database "${template}" (db-template) for ${name}: ${sessions.length
                            ? `${sessions.length} session${sessions.length === 1 ? ' is' : 's are'} connected to it (${sessions.join('; ')})`
                            : `other sessions are connected to it${detail ? ` (${detail.replace(/\.$/, '')})` : ''}`}, and PostgreSQL copies a database only while nobody is connected to it (it waited 5 s for them to leave). Use as db-template a copy that nobody connects to (e.g. a nightly 'CREATE DATABASE ${ident(`${template}_template`)} TEMPLATE ${ident(template)}', then 'ALTER DATABASE ${ident(`${template}_template`)} ALLOW_CONNECTIONS false'), or disconnect them ('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${literal(template)}').`, { cause: last });
                    }
                    else if (code === '3D000') {
                        throw new errors/* C2CError */.n$(`Cannot clone template database "${template}" (db-template) for ${name}: there is no such database on ${where}`, { cause: last });
                    }
                    else
                        throw last;
                }
                await c.query(`COMMENT ON DATABASE ${ident(name)} IS ${literal(mark)}`);
                // Only the environment's role (and the admin) may connect to its database.
                await c.query(`REVOKE ALL ON DATABASE ${ident(name)} FROM PUBLIC`);
                return true;
            });
            // The template's tables, views, sequences, routines and types become the role's (every time: a
            // claim that failed half-way is finished by the next one).
            const ages = await withClient(`claim ${name}: hand the template's objects to ${name}`, urlOf(name), logger, async (c) => {
                await takeOwnership(c, name, logger);
                return madeAt(c, [name, template]);
            });
            logger.info(created
                ? `PostgreSQL: created database ${name} from template ${template} on ${where}, owned by role ${name} (${((Date.now() - started) / 1000).toFixed(1)}s)`
                : `PostgreSQL: database ${name} exists on ${where}: kept${changed ? `, with a new password for role ${name}` : ', and its password'}`);
            return {
                host: pub.host,
                port: pub.port,
                database: name,
                user: name,
                password: password,
                passwordChanged: changed,
                id: name,
                dataFrom: {
                    kind: 'template',
                    name: template,
                    ...(ages.get(template) ? { at: ages.get(template) } : {}),
                    ...(ages.get(name) ? { madeAt: ages.get(name) } : {}),
                },
            };
        },
        async release(env, logger) {
            const name = postgresName(config.set, env.number);
            const ours = (comment) => marks(comment, env.number);
            return withClient(`release ${name}`, adminUrl, logger, async (c) => {
                await lockName(c, name);
                const role = await roleOf(c, name);
                const db = await databaseOf(c, name);
                const roleOurs = !!role && ours(role.comment);
                const dbOurs = !!db && (ours(db.comment) || (roleOurs && db.owner === name));
                for (const [what, found, mine] of [
                    ['database', db, dbOurs],
                    ['role', role, roleOurs],
                ])
                    if (found && !mine)
                        logger.warning(`PostgreSQL on ${where}: ${what} ${name} does not carry the mark of this set of environments: left alone (never dropped)`);
                const sessions = dbOurs
                    ? Number((await c.query('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1', [name])).rows[0]?.n ?? 0)
                    : 0;
                if (dbOurs) {
                    try {
                        // FORCE (PostgreSQL 13+): the environment's sessions are ended rather than blocking the drop.
                        await c.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
                    }
                    catch (err) {
                        if (pgCode(err) === '42601')
                            throw new errors/* C2CError */.n$(`PostgreSQL on ${where} does not know DROP DATABASE ... WITH (FORCE): postgres-template needs PostgreSQL 13 or newer`, { cause: err });
                        throw err;
                    }
                }
                if (roleOurs) {
                    try {
                        await c.query(`DROP ROLE IF EXISTS ${ident(name)}`);
                    }
                    catch (err) {
                        if (pgCode(err) === '2BP01')
                            throw new errors/* C2CError */.n$(`PostgreSQL on ${where}: database ${name} was dropped, but role ${name} still owns objects or holds privileges elsewhere (${err.detail ?? (0,errors/* errorMessage */.gJ)(err)}); in each database listed: 'REASSIGN OWNED BY ${name} TO ${adminUser}; DROP OWNED BY ${name}', then run down again`, { cause: err });
                        throw err;
                    }
                }
                if (dbOurs || roleOurs)
                    logger.info(`PostgreSQL: dropped ${[dbOurs ? `database ${name}${sessions ? ` (${sessions} session${sessions === 1 ? '' : 's'} ended)` : ''}` : '', roleOurs ? `role ${name}` : ''].filter(Boolean).join(' and ')} on ${where}`);
                return dbOurs || roleOurs;
            });
        },
        async refill() {
            return { created: [] }; // a clone takes seconds: no pool
        },
        async held(logger) {
            return withClient('list the environment databases', adminUrl, logger, async (c) => {
                const { rows } = await c.query(`SELECT d.datname AS name, shobj_description(d.oid, 'pg_database') AS comment, pg_get_userbyid(d.datdba) AS owner
             FROM pg_database d WHERE starts_with(d.datname, $1)
           UNION ALL
           SELECT r.rolname, shobj_description(r.oid, 'pg_authid'), NULL FROM pg_roles r WHERE starts_with(r.rolname, $1)`, [namePrefix(config.set)]);
                const marked = new Map();
                for (const r of rows) {
                    const m = markOf(r.comment);
                    if (m?.set === config.set && r.name === postgresName(config.set, m.pr))
                        marked.set(r.name, m.pr);
                }
                const held = new Map();
                for (const r of rows) {
                    // A database counts when marked, or owned by its marked role (a claim that ended half-way).
                    const pr = marked.get(r.name) ?? (r.owner === r.name ? marked.get(r.owner) : undefined);
                    if (pr !== undefined)
                        held.set(pr, r.name);
                }
                return new Map([...held].sort((a, b) => a[0] - b[0]));
            });
        },
        async close() {
            // A connection per call: nothing stays open.
        },
    };
}
/**
 * When each database was made: its directory's PG_VERSION file is written by CREATE DATABASE and
 * never again. Reading it takes a superuser or pg_read_server_files; without, the ages are unknown
 * (an empty map), and the comment says only where the data came from.
 */
async function madeAt(c, names) {
    try {
        const r = await c.query(`SELECT datname, (pg_stat_file('base/' || oid || '/PG_VERSION')).modification AS made FROM pg_database WHERE datname = ANY($1)`, [names]);
        return new Map(r.rows.map((row) => [row.datname, new Date(row.made).toISOString()]));
    }
    catch {
        return new Map();
    }
}

// EXTERNAL MODULE: ./node_modules/@aws-sdk/client-rds/dist-cjs/index.js
var dist_cjs = __webpack_require__(57202);
// EXTERNAL MODULE: ./lib/aws/call.js
var aws_call = __webpack_require__(1093);
;// CONCATENATED MODULE: ./lib/featureenv/db/rds.js




const POOL_TAG = 'commit-to-cloud/pool';
const SET_TAG = 'commit-to-cloud/set';
const PR_TAG = 'commit-to-cloud/pr';
const CLAIM_TAG_PREFIX = 'commit-to-cloud/claim/';
/** The snapshot an instance was restored from, and when that snapshot was taken: how old its data is. */
const SNAPSHOT_TAG = 'commit-to-cloud/snapshot';
const SNAPSHOT_TIME_TAG = 'commit-to-cloud/snapshot-time';
/** A claim tag older than this was left by a run that died: it no longer blocks. */
const STALE_CLAIM_MS = 10 * 60_000;
/** States an instance leaves by itself for `available`. */
const ON_ITS_WAY = new Set([
    'creating',
    'backing-up',
    'modifying',
    'resetting-master-credentials',
    'configuring-enhanced-monitoring',
    'configuring-iam-database-auth',
    'configuring-log-exports',
    'rebooting',
    'renaming',
    'upgrading',
    'maintenance',
    'storage-optimization',
    'starting',
    'moving-to-vpc',
    'converting-to-vpc',
]);
/** States it will not leave for `available` by itself, and what they mean. */
const FAILED = {
    failed: 'RDS could not create or recover it',
    'incompatible-restore': 'RDS could not restore the snapshot (e.g. an instance class the engine version does not support)',
    'incompatible-parameters': "the DB parameter group's settings do not fit the instance",
    'incompatible-network': 'its subnet group or security groups do not work (e.g. no free addresses in the subnets)',
    'incompatible-option-group': 'its option group does not fit the instance',
    'incompatible-credentials': 'RDS cannot use its credentials',
    'inaccessible-encryption-credentials': 'the KMS key of its storage cannot be used',
    'inaccessible-encryption-credentials-recoverable': 'the KMS key of its storage cannot be used',
    'insufficient-capacity': 'AWS has no capacity for this instance class in the availability zone',
    'restore-error': 'RDS could not restore the snapshot',
    'storage-full': 'its storage is full',
};
const GONE = new Set(['deleting', 'deleted', 'stopping', 'stopped']);
function tagMap(tags) {
    return new Map((tags ?? []).filter((t) => t.Key).map((t) => [t.Key, t.Value ?? '']));
}
function prOf(tags) {
    const m = /^([1-9][0-9]*)(?::|$)/.exec(tags.get(PR_TAG) ?? '');
    return m ? Number(m[1]) : undefined;
}
/** Instances by identifier (byte order). */
const byId = (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
/** When the pull request claimed the instance (`<pr>:<token>:<ms>`; 0 for a tag without the time). */
function claimedAt(tags) {
    return Number((tags.get(PR_TAG) ?? '').split(':')[2]) || 0;
}
/**
 * A pull request's instances, the one it keeps first: the earliest claim (then the identifier). Every
 * run that sees two agrees which stays; the earliest claimer keeps its own even when it never sees
 * the later one, and the later one, which sees both, gives its own back.
 */
function keepOrder(a, b) {
    return claimedAt(a.tags) - claimedAt(b.tags) || byId(a, b);
}
/** 28 letters and digits: valid as a master password of every RDS engine (Oracle's 30 is the shortest limit). */
function rds_generatePassword() {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    let out = '';
    for (let i = 0; i < 28; i++)
        out += alphabet[(0,external_node_crypto_.randomInt)(alphabet.length)];
    return out;
}
function duration(ms) {
    const s = Math.round(ms / 1000);
    if (s < 60)
        return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 60)
        return `${m}m${String(s % 60).padStart(2, '0')}s`;
    return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
/** A failed RDS call, with the AWS error name (DBInstanceNotFoundFault, ...) for the callers that expect some. */
function rdsSnapshotProvider(config, opts = {}) {
    const source = config.sourceInstance.toLowerCase();
    const ownClient = !opts.client;
    const client = opts.client ?? new dist_cjs/* RDSClient */.rYe({ ...(config.region ? { region: config.region } : {}), maxAttempts: 1 });
    const now = opts.now ?? Date.now;
    const sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    const waitTimeoutMs = opts.waitTimeoutMs ?? 40 * 60_000;
    const pollMs = opts.pollMs ?? 15_000;
    const claimRounds = opts.claimRounds ?? 4;
    const settleMs = opts.settleMs ?? 2000;
    const regionText = config.region ? ` in ${config.region}` : '';
    /** Every AWS call: our bounded retries, then one clear error (src/aws's awsCall). */
    const call = (what, logger, fn) => (0,aws_call/* awsCall */.u)({
        service: 'RDS',
        permissions: 'RDS DescribeDBSnapshots, DescribeDBInstances, RestoreDBInstanceFromDBSnapshot, ModifyDBInstance, DeleteDBInstance, AddTagsToResource, RemoveTagsFromResource and ListTagsForResource',
        ...(opts.retry ? { retry: opts.retry } : {}),
    }, what, logger, fn);
    /** The instances of this pool (tagged with its source), with their tags. */
    const list = async (logger) => {
        const out = [];
        let marker;
        do {
            const page = await call('DescribeDBInstances', logger, () => client.send(new dist_cjs/* DescribeDBInstancesCommand */.hhJ({ MaxRecords: 100, ...(marker ? { Marker: marker } : {}) })));
            for (const instance of page.DBInstances ?? []) {
                const tags = tagMap(instance.TagList);
                if (tags.get(POOL_TAG) !== source ||
                    tags.get(SET_TAG) !== config.set ||
                    !instance.DBInstanceIdentifier ||
                    !instance.DBInstanceArn)
                    continue;
                const pr = prOf(tags);
                out.push({
                    id: instance.DBInstanceIdentifier,
                    arn: instance.DBInstanceArn,
                    status: instance.DBInstanceStatus ?? 'unknown',
                    tags,
                    ...(pr ? { pr } : {}),
                    instance,
                });
            }
            marker = page.Marker;
        } while (marker);
        return out.sort(byId);
    };
    const describe = async (id, logger) => {
        try {
            const r = await call(`DescribeDBInstances ${id}`, logger, () => client.send(new dist_cjs/* DescribeDBInstancesCommand */.hhJ({ DBInstanceIdentifier: id })));
            return r.DBInstances?.[0];
        }
        catch (err) {
            if (isNotFound(err))
                return undefined;
            throw err;
        }
    };
    const isNotFound = (err) => err instanceof aws_call/* AwsCallError */.i && /^DBInstanceNotFound/.test(err.awsName ?? '');
    const liveClaims = (tags, except) => [...tags]
        .filter(([k, v]) => {
        if (!k.startsWith(CLAIM_TAG_PREFIX) || k === except)
            return false;
        const at = Number(/:(\d+)$/.exec(v)?.[1]);
        return Number.isFinite(at) && now() - at < STALE_CLAIM_MS;
    })
        .map(([k]) => k);
    const removeTag = async (m, key, logger) => {
        try {
            await call(`RemoveTagsFromResource ${m.id}`, logger, () => client.send(new dist_cjs/* RemoveTagsFromResourceCommand */.FyM({ ResourceName: m.arn, TagKeys: [key] })));
        }
        catch (err) {
            // Left behind, it blocks nobody for long: a claim tag goes stale after 10 minutes.
            logger.warning(`RDS: could not remove the claim tag ${key} from ${m.id}: ${(0,errors/* errorMessage */.gJ)(err)}`);
        }
    };
    /** One claim attempt on one pool member: 'won', 'taken' (by another PR for good) or 'conflict'. */
    const tryClaim = async (m, n, logger) => {
        const token = (0,external_node_crypto_.randomBytes)(6).toString('hex');
        const key = `${CLAIM_TAG_PREFIX}${token}`;
        await call(`AddTagsToResource ${m.id}`, logger, () => client.send(new dist_cjs/* AddTagsToResourceCommand */.X3P({ ResourceName: m.arn, Tags: [{ Key: key, Value: `${n}:${now()}` }] })));
        const read = await call(`ListTagsForResource ${m.id}`, logger, () => client.send(new dist_cjs/* ListTagsForResourceCommand */.a_e({ ResourceName: m.arn })));
        const tags = tagMap(read.TagList);
        const owner = prOf(tags);
        const others = liveClaims(tags, key);
        if (tags.get(key) === undefined || owner !== undefined || others.length) {
            await removeTag(m, key, logger);
            logger.info(owner !== undefined
                ? `RDS: ${m.id} was claimed by PR ${owner} meanwhile; trying the next`
                : `RDS: ${m.id} is being claimed by another run at the same time; trying the next`);
            return owner !== undefined ? 'taken' : 'conflict';
        }
        const value = `${n}:${token}:${now()}`;
        await call(`AddTagsToResource ${m.id}`, logger, () => client.send(new dist_cjs/* AddTagsToResourceCommand */.X3P({ ResourceName: m.arn, Tags: [{ Key: PR_TAG, Value: value }] })));
        await removeTag(m, key, logger);
        m.tags.set(PR_TAG, value);
        m.pr = n;
        return 'won';
    };
    /** A ready (or nearly ready) unclaimed pool member for PR n, or undefined when there is none. */
    const claimFromPool = async (n, members, logger) => {
        for (let round = 1; round <= claimRounds; round++) {
            const free = members.filter((m) => m.pr === undefined &&
                !liveClaims(m.tags).length &&
                (m.status === 'available' || ON_ITS_WAY.has(m.status)));
            if (!free.length)
                return undefined;
            // Available ones first; in a random order, so that concurrent claimers spread over the pool.
            const shuffled = free.map((m) => ({
                m,
                r: (m.status === 'available' ? 0 : 1) + (0,external_node_crypto_.randomInt)(1_000_000) / 1e6,
            }));
            const candidates = shuffled.sort((a, b) => a.r - b.r).map((x) => x.m);
            let conflicts = 0;
            for (const m of candidates) {
                const outcome = await tryClaim(m, n, logger);
                if (outcome === 'won') {
                    logger.info(`RDS: PR ${n} claimed ${m.id} from the pool of ${source} (${m.status})`);
                    return m;
                }
                if (outcome === 'conflict')
                    conflicts++;
            }
            if (!conflicts || round === claimRounds)
                return undefined;
            // Claims collided and all backed off: a moment of random length, then once more.
            await sleep(200 + (0,external_node_crypto_.randomInt)(800) * round);
            members = await list(logger);
        }
        return undefined;
    };
    const newestSnapshot = async (logger) => {
        const all = [];
        let marker;
        do {
            const page = await call(`DescribeDBSnapshots ${source}`, logger, () => client.send(new dist_cjs/* DescribeDBSnapshotsCommand */.KKI({
                DBInstanceIdentifier: source,
                MaxRecords: 100,
                ...(marker ? { Marker: marker } : {}),
            })));
            all.push(...(page.DBSnapshots ?? []));
            marker = page.Marker;
        } while (marker);
        const ready = all
            .filter((s) => s.Status === 'available' && s.SnapshotCreateTime && s.DBSnapshotIdentifier)
            .sort((a, b) => b.SnapshotCreateTime.getTime() - a.SnapshotCreateTime.getTime());
        if (!ready[0]) {
            if (!all.length && !(await describe(source, logger)))
                throw new errors/* C2CError */.n$(`RDS instance '${config.sourceInstance}' (db-source-instance) does not exist${regionText}, and no snapshot of it does: check the name${config.region ? '' : ' and the region'}`);
            throw new errors/* C2CError */.n$(`RDS instance '${config.sourceInstance}' (db-source-instance) has no available snapshot${regionText}${all.length
                ? ` (${all.length} not available yet: ${all.map((s) => `${s.DBSnapshotIdentifier} ${s.Status}`).join(', ')})`
                : ''}: enable its automated backups, or take one ('aws rds create-db-snapshot --db-instance-identifier ${config.sourceInstance} --db-snapshot-identifier ...')`);
        }
        return ready[0];
    };
    /** The restored instance goes where the source instance is: its subnet group, security groups, parameter group. */
    const placement = async (logger) => {
        const src = await describe(source, logger);
        if (!src) {
            logger.warning(`RDS: the source instance ${config.sourceInstance} is gone; restoring with the account's default network settings`);
            return {};
        }
        const subnetGroup = src.DBSubnetGroup?.DBSubnetGroupName;
        const securityGroups = (src.VpcSecurityGroups ?? [])
            .map((g) => g.VpcSecurityGroupId)
            .filter((g) => !!g);
        const parameterGroup = src.DBParameterGroups?.[0]?.DBParameterGroupName;
        return {
            ...(subnetGroup ? { DBSubnetGroupName: subnetGroup } : {}),
            ...(securityGroups.length ? { VpcSecurityGroupIds: securityGroups } : {}),
            ...(parameterGroup && !parameterGroup.startsWith('default.')
                ? { DBParameterGroupName: parameterGroup }
                : {}),
            ...(src.PubliclyAccessible !== undefined ? { PubliclyAccessible: src.PubliclyAccessible } : {}),
        };
    };
    /** fe-<source>-<6 random>: at most 63 characters, no double or trailing hyphen. */
    const newId = () => {
        const base = source.replace(/-+/g, '-').slice(0, 52).replace(/-+$/, '');
        const suffix = Array.from({ length: 6 }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[(0,external_node_crypto_.randomInt)(36)]).join('');
        return `fe-${base}-${suffix}`;
    };
    const restore = async (snapshot, place, pr, logger) => {
        const id = newId();
        const tags = [
            { Key: POOL_TAG, Value: source },
            { Key: SET_TAG, Value: config.set },
            { Key: SNAPSHOT_TAG, Value: snapshot.DBSnapshotIdentifier },
            ...(snapshot.SnapshotCreateTime
                ? [{ Key: SNAPSHOT_TIME_TAG, Value: snapshot.SnapshotCreateTime.toISOString() }]
                : []),
        ];
        if (pr !== undefined)
            tags.push({ Key: PR_TAG, Value: `${pr}:${(0,external_node_crypto_.randomBytes)(6).toString('hex')}:${now()}` });
        await call(`RestoreDBInstanceFromDBSnapshot ${id}`, logger, () => client.send(new dist_cjs/* RestoreDBInstanceFromDBSnapshotCommand */.dX$({
            DBInstanceIdentifier: id,
            DBSnapshotIdentifier: snapshot.DBSnapshotIdentifier,
            DBInstanceClass: config.instanceClass,
            MultiAZ: false,
            DeletionProtection: false,
            CopyTagsToSnapshot: false,
            Tags: tags,
            ...place,
        })));
        logger.info(`RDS: restoring ${id} (${config.instanceClass}) from snapshot ${snapshot.DBSnapshotIdentifier} of ${snapshot.SnapshotCreateTime?.toISOString() ?? 'unknown time'}${pr !== undefined ? ` for PR ${pr}` : ` for the pool of ${source}`}`);
        return id;
    };
    const deleteInstance = async (id, logger) => {
        try {
            await call(`DeleteDBInstance ${id}`, logger, () => client.send(new dist_cjs/* DeleteDBInstanceCommand */.Yvh({
                DBInstanceIdentifier: id,
                SkipFinalSnapshot: true,
                DeleteAutomatedBackups: true,
            })));
        }
        catch (err) {
            if (isNotFound(err))
                return;
            throw err;
        }
    };
    /** Polls until done(instance); a line on every change of state, and at least one a minute. */
    const waitUntil = async (id, goal, done, logger, pr) => {
        const start = now();
        let last = '';
        let lastLine = start;
        for (;;) {
            const inst = await describe(id, logger);
            if (!inst)
                throw new errors/* C2CError */.n$(`RDS instance ${id} disappeared while PR ${pr} waited for ${goal} (deleted by someone?)`);
            const status = inst.DBInstanceStatus ?? 'unknown';
            const elapsed = now() - start;
            if (done(inst)) {
                if (last)
                    logger.info(`RDS ${id}: ${status} after ${duration(elapsed)}`);
                return inst;
            }
            if (FAILED[status] !== undefined) {
                await deleteInstance(id, logger);
                throw new errors/* C2CError */.n$(`RDS instance ${id} of PR ${pr} is '${status}': ${FAILED[status]}. It is being deleted; the next run restores or claims another`);
            }
            if (GONE.has(status))
                throw new errors/* C2CError */.n$(`RDS instance ${id} of PR ${pr} is '${status}' while PR ${pr} waited for ${goal}`);
            if (status !== last || now() - lastLine >= 60_000) {
                logger.info(`RDS ${id}: ${status}, waiting for ${goal} (${duration(elapsed)} so far, at most ${duration(waitTimeoutMs)})`);
                last = status;
                lastLine = now();
            }
            if (elapsed >= waitTimeoutMs)
                throw new errors/* C2CError */.n$(`RDS instance ${id} was still '${status}' after ${duration(waitTimeoutMs)} of waiting for ${goal}. It stays PR ${pr}'s: the next run for PR ${pr} waits for it again, and down deletes it`);
            await sleep(Math.min(pollMs, Math.max(1, waitTimeoutMs - elapsed)));
        }
    };
    /**
     * After a claim or a restore for PR n: when a concurrent run for the same pull request won another
     * instance, both keep the first of the pull request's instances (keepOrder) and the other goes
     * back to the pool (its `pr` tag removed), so one instance stays claimed. Read twice, a moment
     * apart: a run whose first read came before the other's tag was written sees it on the second.
     */
    const giveBack = async (m, n, keep, logger) => {
        await call(`RemoveTagsFromResource ${m.id}`, logger, () => client.send(new dist_cjs/* RemoveTagsFromResourceCommand */.FyM({ ResourceName: m.arn, TagKeys: [PR_TAG] })));
        logger.info(`RDS: PR ${n} holds ${keep} (claimed by a concurrent run at the same instant); ${m.id} goes back to the pool of ${source}`);
    };
    const settle = async (n, mine, logger) => {
        for (let round = 1; round <= 2; round++) {
            if (round > 1 && settleMs > 0)
                await sleep(settleMs);
            const held = (await list(logger)).filter((m) => m.pr === n && !GONE.has(m.status)).sort(keepOrder);
            const keep = held[0]?.id ?? mine;
            if (keep === mine)
                continue;
            const extra = held.find((m) => m.id === mine);
            if (extra)
                await giveBack(extra, n, keep, logger);
            mine = keep;
        }
        return mine;
    };
    return {
        description: `RDS instances restored from the newest snapshot of ${config.sourceInstance}${regionText} (${config.instanceClass}, pool of ${config.pool})`,
        async claim(env, logger, o = {}) {
            const n = env.number;
            const members = await list(logger);
            const held = members.filter((m) => m.pr === n && !GONE.has(m.status)).sort(keepOrder);
            let id;
            let fresh = false;
            if (held[0]) {
                id = held[0].id;
                logger.info(`RDS: ${id} is already PR ${n}'s database (${held[0].status})`);
                // More than one (claims at the same instant that did not settle): the first stays, the rest go back.
                for (const extra of held.slice(1))
                    await giveBack(extra, n, id, logger);
            }
            else {
                fresh = true;
                const won = await claimFromPool(n, members, logger);
                if (won)
                    id = won.id;
                else {
                    logger.info(`RDS: no unclaimed instance in the pool of ${source}; restoring one for PR ${n} (this takes minutes)`);
                    const snapshot = await newestSnapshot(logger);
                    id = await restore(snapshot, await placement(logger), n, logger);
                }
                id = await settle(n, id, logger);
            }
            await waitUntil(id, 'available', (i) => i.DBInstanceStatus === 'available', logger, n);
            // The master password: set on a newly claimed instance (and on request); kept on an update.
            let password = !fresh && !o.rotate ? o.password : undefined;
            const changed = !password;
            if (!password) {
                password = rds_generatePassword();
                logger.secret(password);
                await call(`ModifyDBInstance ${id} (new master password)`, logger, () => client.send(new dist_cjs/* ModifyDBInstanceCommand */.R1U({
                    DBInstanceIdentifier: id,
                    MasterUserPassword: password,
                    ApplyImmediately: true,
                })));
            }
            const inst = await waitUntil(id, changed ? 'the new master password' : 'available', (i) => i.DBInstanceStatus === 'available' && (!changed || !i.PendingModifiedValues?.MasterUserPassword), logger, n);
            if (!inst.Endpoint?.Address || !inst.Endpoint.Port)
                throw new errors/* C2CError */.n$(`RDS instance ${id} is available but has no endpoint`);
            const engine = inst.Engine ?? '';
            const tags = tagMap(inst.TagList);
            const snapshot = tags.get(SNAPSHOT_TAG);
            const taken = tags.get(SNAPSHOT_TIME_TAG);
            return {
                ...(snapshot
                    ? { dataFrom: { kind: 'snapshot', name: snapshot, ...(taken ? { at: taken } : {}) } }
                    : {}),
                host: inst.Endpoint.Address,
                port: inst.Endpoint.Port,
                database: inst.DBName ?? (engine.startsWith('postgres') ? 'postgres' : ''),
                user: inst.MasterUsername ?? '',
                password,
                passwordChanged: changed,
                id,
                scheme: /mysql|mariadb/.test(engine) ? 'mysql' : 'postgres',
            };
        },
        async release(env, logger) {
            const mine = (await list(logger)).filter((m) => m.pr === env.number);
            for (const m of mine) {
                if (m.status === 'deleting') {
                    logger.info(`RDS: ${m.id} of PR ${env.number} is already being deleted`);
                    continue;
                }
                await deleteInstance(m.id, logger);
                logger.info(`RDS: deleting ${m.id} of PR ${env.number} (no final snapshot, automated backups too)`);
            }
            return mine.length > 0;
        },
        async refill(logger) {
            const members = await list(logger);
            const unclaimed = members.filter((m) => m.pr === undefined);
            for (const m of unclaimed.filter((m) => FAILED[m.status] !== undefined)) {
                logger.warning(`RDS: pool member ${m.id} is '${m.status}' (${FAILED[m.status]}): deleting it`);
                await deleteInstance(m.id, logger);
            }
            const ready = unclaimed.filter((m) => m.status === 'available' || ON_ITS_WAY.has(m.status));
            // Rotation: an unclaimed member restored from a snapshot older than the newest is replaced, so
            // an environment never starts on data older than it has to.
            const snapshot = ready.length || config.pool > 0 ? await newestSnapshot(logger) : undefined;
            const newest = snapshot?.SnapshotCreateTime?.getTime() ?? 0;
            const stale = ready.filter((m) => {
                if (m.status !== 'available' || !snapshot)
                    return false;
                const from = m.tags.get(SNAPSHOT_TAG);
                if (from === snapshot.DBSnapshotIdentifier)
                    return false;
                // Its snapshot's time; for a member made before the tags, when it was made.
                const at = from
                    ? Date.parse(m.tags.get(SNAPSHOT_TIME_TAG) ?? '')
                    : (m.instance.InstanceCreateTime?.getTime() ?? NaN);
                return Number.isFinite(at) ? at < newest : !!from;
            });
            const missing = config.pool - (ready.length - stale.length);
            logger.info(`RDS: pool of ${source}: ${ready.length} of ${config.pool} unclaimed instance(s) available or on their way${stale.length ? `, ${stale.length} from a snapshot older than ${snapshot.DBSnapshotIdentifier} (replaced)` : ''}${missing > 0 ? `; restoring ${missing}` : ''}`);
            const created = [];
            if (missing > 0 && snapshot) {
                const place = await placement(logger);
                for (let i = 0; i < missing; i++)
                    created.push(await restore(snapshot, place, undefined, logger));
            }
            // The replacements are on their way: the stale members go, each only while still unclaimed
            // (read again: a pull request that claimed one meanwhile keeps it).
            if (stale.length) {
                const now = new Map((await list(logger)).map((m) => [m.id, m]));
                for (const old of stale) {
                    const m = now.get(old.id);
                    if (!m || m.pr !== undefined || [...m.tags.keys()].some((k) => k.startsWith(CLAIM_TAG_PREFIX)))
                        continue;
                    logger.info(`RDS: deleting pool member ${m.id} (from snapshot ${m.tags.get(SNAPSHOT_TAG) ?? 'unknown'}): replaced by one from ${snapshot.DBSnapshotIdentifier}`);
                    await deleteInstance(m.id, logger);
                }
            }
            return { created };
        },
        async held(logger) {
            const out = new Map();
            for (const m of await list(logger))
                if (m.pr !== undefined && m.status !== 'deleting' && !out.has(m.pr))
                    out.set(m.pr, m.id);
            return new Map([...out].sort((a, b) => a[0] - b[0]));
        },
        async close() {
            if (ownClient)
                client.destroy();
        },
    };
}

;// CONCATENATED MODULE: ./lib/featureenv/db/index.js




/**
 * The database provider the inputs ask for, or undefined for `database: none`. The admin URL of
 * postgres-template is a secret: it (and its password, as written and decoded) is registered with the
 * logger before anything uses it.
 */
function databaseProvider(database, logger, 
/** The key of the set of environments (state.ts setKey): names, marks and tags carry it. */
set, extras = {}) {
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
                }
                catch {
                    // not percent-encoded: registered as it is
                }
            }
            return postgresTemplateProvider({ url: database.url, template: database.template, set }, { ...extras.postgres, ...(extras.publicHost ? { publicHost: extras.publicHost } : {}) });
        }
        case 'rds-snapshot':
            return rdsSnapshotProvider({
                sourceInstance: database.sourceInstance,
                instanceClass: database.instanceClass,
                pool: database.pool,
                set,
                ...(database.region ? { region: database.region } : {}),
            }, extras.rds);
    }
}


/***/ })

};
