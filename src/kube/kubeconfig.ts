import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { InputError, errorMessage, exec } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { Credentials, KubeConnection } from './connection.js';

/**
 * Reads a kubeconfig the way kubectl does, for the parts a deploy needs: current-context (or a named
 * one), clusters / users / contexts, inline (-data) or file certificates, tokens and token files,
 * and exec credential plugins (how `aws eks get-token` kubeconfigs work). Every credential found is
 * registered with logger.secret() before anything else happens.
 */
export interface KubeconfigSource {
  /** Kubeconfig YAML (the action's `kubeconfig` input). */
  content?: string;
  /** A kubeconfig file. Without content or path: $KUBECONFIG (first file), then ~/.kube/config. */
  path?: string;
  /** A context other than current-context. */
  context?: string;
  /** The input name used in errors. Default 'kubeconfig'. */
  input?: string;
  env?: NodeJS.ProcessEnv;
}

interface NamedCluster {
  name: string;
  cluster?: {
    server?: string;
    'certificate-authority'?: string;
    'certificate-authority-data'?: string;
    'insecure-skip-tls-verify'?: boolean;
    'tls-server-name'?: string;
  };
}
interface ExecConfig {
  apiVersion?: string;
  command?: string;
  args?: string[];
  env?: { name: string; value: string }[] | null;
  provideClusterInfo?: boolean;
}
interface NamedUser {
  name: string;
  user?: {
    token?: string;
    tokenFile?: string;
    'client-certificate'?: string;
    'client-certificate-data'?: string;
    'client-key'?: string;
    'client-key-data'?: string;
    exec?: ExecConfig;
    username?: string;
    password?: string;
    'auth-provider'?: unknown;
  };
}
interface NamedContext {
  name: string;
  context?: { cluster?: string; user?: string; namespace?: string };
}
interface KubeconfigDoc {
  'current-context'?: string;
  clusters?: NamedCluster[];
  users?: NamedUser[];
  contexts?: NamedContext[];
}

export async function loadKubeconfig(src: KubeconfigSource, logger: Logger): Promise<KubeConnection> {
  const input = src.input ?? 'kubeconfig';
  const env = src.env ?? process.env;
  let text = src.content;
  let baseDir = process.cwd();
  let where = 'the kubeconfig input';
  if (text === undefined || text.trim() === '') {
    const file =
      src.path ??
      (env.KUBECONFIG ? env.KUBECONFIG.split(path.delimiter).find(Boolean) : undefined) ??
      path.join(env.HOME ?? os.homedir(), '.kube', 'config');
    where = file;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new InputError(
        input,
        `cannot read kubeconfig file ${file} (${errorMessage(err)})`,
        'a readable kubeconfig file',
      );
    }
    baseDir = path.dirname(path.resolve(file));
  }
  logger.secret(text);
  let doc: KubeconfigDoc;
  try {
    doc = parseYaml(text) as KubeconfigDoc;
  } catch (err) {
    throw new InputError(
      input,
      `${where} is not valid YAML (${errorMessage(err).split('\n')[0]})`,
      'a kubeconfig (YAML with clusters, users and contexts)',
    );
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new InputError(
      input,
      `${where} is not a kubeconfig`,
      'a YAML mapping with clusters, users and contexts',
    );
  const bad = (problem: string, expected?: string): never => {
    throw new InputError(input, problem, expected);
  };

  const ctxName = src.context ?? doc['current-context'];
  if (!ctxName) bad(`${where} has no current-context`, 'current-context naming one of its contexts');
  const ctx = (doc.contexts ?? []).find((c) => c?.name === ctxName)?.context;
  if (!ctx)
    bad(
      `context '${ctxName}' is not defined in ${where}`,
      `one of: ${(doc.contexts ?? []).map((c) => c?.name).join(', ') || 'no contexts defined'}`,
    );
  const cluster = (doc.clusters ?? []).find((c) => c?.name === ctx!.cluster)?.cluster;
  if (!cluster)
    bad(
      `cluster '${ctx!.cluster ?? ''}' of context '${ctxName}' is not defined`,
      'a clusters entry with that name',
    );
  const server = cluster!.server;
  if (!server) bad(`cluster '${ctx!.cluster}' has no server`, 'server: https://host:port');
  let serverUrl: URL;
  try {
    serverUrl = new URL(server!);
  } catch {
    return bad(`cluster '${ctx!.cluster}' has an invalid server URL '${server}'`, 'https://host:port');
  }
  if (serverUrl.protocol !== 'https:' && serverUrl.protocol !== 'http:')
    bad(`cluster '${ctx!.cluster}' server '${server}' is not http(s)`, 'https://host:port');

  const readRef = async (
    what: string,
    file: string | undefined,
    data: string | undefined,
  ): Promise<string | undefined> => {
    if (data) {
      const decoded = Buffer.from(data, 'base64').toString('utf8');
      if (!decoded.includes('-----BEGIN'))
        bad(`${what}-data is not base64 of a PEM block`, 'base64-encoded PEM');
      return decoded;
    }
    if (file) {
      try {
        return await readFile(path.resolve(baseDir, file), 'utf8');
      } catch (err) {
        return bad(`${what} file ${file} cannot be read (${errorMessage(err)})`, 'a readable PEM file');
      }
    }
    return undefined;
  };

  const ca = await readRef(
    'certificate-authority',
    cluster!['certificate-authority'],
    cluster!['certificate-authority-data'],
  );
  const conn: KubeConnection = {
    server: serverUrl!.toString().replace(/\/$/, ''),
    namespace: ctx!.namespace || 'default',
    contextName: ctxName!,
    ...(ca ? { ca } : {}),
    ...(cluster!['insecure-skip-tls-verify'] ? { insecureSkipVerify: true } : {}),
    ...(cluster!['tls-server-name'] ? { tlsServerName: cluster!['tls-server-name'] } : {}),
  };

  const user = ctx!.user ? (doc.users ?? []).find((u) => u?.name === ctx!.user)?.user : undefined;
  if (ctx!.user && !user)
    bad(`user '${ctx!.user}' of context '${ctxName}' is not defined`, 'a users entry with that name');
  if (user) {
    if (user['auth-provider'])
      bad(
        `user '${ctx!.user}' uses an auth-provider, which is not supported`,
        'a token, client certificate or exec plugin',
      );
    const cert = await readRef(
      'client-certificate',
      user['client-certificate'],
      user['client-certificate-data'],
    );
    const key = await readRef('client-key', user['client-key'], user['client-key-data']);
    if (Boolean(cert) !== Boolean(key))
      bad(
        `user '${ctx!.user}' has a client certificate without its key (or a key without its certificate)`,
        'both client-certificate and client-key',
      );
    if (cert && key) {
      logger.secret(key);
      conn.cert = cert;
      conn.key = key;
    }
    if (user.token) {
      logger.secret(user.token);
      conn.token = user.token;
    } else if (user.tokenFile) {
      try {
        conn.token = (await readFile(path.resolve(baseDir, user.tokenFile), 'utf8')).trim();
      } catch (err) {
        bad(`tokenFile ${user.tokenFile} cannot be read (${errorMessage(err)})`, 'a readable token file');
      }
      logger.secret(conn.token!);
    }
    if (user.exec) {
      const execCfg = user.exec;
      if (!execCfg.command) bad(`user '${ctx!.user}' has an exec plugin without a command`, 'exec.command');
      const run = () => runExecPlugin(execCfg, conn, env, baseDir, logger, input);
      const first = await run();
      Object.assign(conn, first);
      conn.refresh = run;
    }
  }
  return conn;
}

/** Runs a client-go exec credential plugin (argument array, no shell) and reads its ExecCredential. */
async function runExecPlugin(
  cfg: ExecConfig,
  conn: KubeConnection,
  env: NodeJS.ProcessEnv,
  baseDir: string,
  logger: Logger,
  input: string,
): Promise<Credentials> {
  const apiVersion = cfg.apiVersion ?? 'client.authentication.k8s.io/v1beta1';
  const info = {
    apiVersion,
    kind: 'ExecCredential',
    spec: {
      interactive: false,
      ...(cfg.provideClusterInfo
        ? {
            cluster: {
              server: conn.server,
              ...(conn.ca ? { 'certificate-authority-data': Buffer.from(conn.ca).toString('base64') } : {}),
            },
          }
        : {}),
    },
  };
  const childEnv: NodeJS.ProcessEnv = { ...env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
  for (const e of cfg.env ?? []) childEnv[e.name] = e.value;
  // A relative command with a slash is relative to the kubeconfig, as in client-go.
  const cmd =
    cfg.command!.includes('/') && !path.isAbsolute(cfg.command!)
      ? path.resolve(baseDir, cfg.command!)
      : cfg.command!;
  let out: string;
  try {
    out = (
      await exec(cmd, cfg.args ?? [], {
        env: childEnv,
        timeoutMs: 60_000,
        logger,
        installHint: `install the credential plugin '${cfg.command}' named in the kubeconfig`,
      })
    ).stdout;
  } catch (err) {
    throw new InputError(
      input,
      `the exec credential plugin '${cfg.command}' failed: ${errorMessage(err)}`,
      'a plugin that prints an ExecCredential',
    );
  }
  let cred: {
    status?: {
      token?: string;
      clientCertificateData?: string;
      clientKeyData?: string;
      expirationTimestamp?: string;
    };
  };
  try {
    cred = JSON.parse(out) as typeof cred;
  } catch {
    throw new InputError(
      input,
      `the exec credential plugin '${cfg.command}' did not print JSON`,
      'an ExecCredential object on stdout',
    );
  }
  const st = cred.status;
  if (!st || (!st.token && !(st.clientCertificateData && st.clientKeyData)))
    throw new InputError(
      input,
      `the exec credential plugin '${cfg.command}' printed no token or client certificate`,
      'status.token or status.clientCertificateData + clientKeyData',
    );
  const c: Credentials = {};
  if (st.token) {
    logger.secret(st.token);
    c.token = st.token;
  }
  if (st.clientCertificateData && st.clientKeyData) {
    logger.secret(st.clientKeyData);
    c.cert = st.clientCertificateData;
    c.key = st.clientKeyData;
  }
  if (st.expirationTimestamp) c.expiresAt = new Date(st.expirationTimestamp);
  return c;
}
