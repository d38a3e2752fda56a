/**
 * A resolved way to reach one cluster: where, how to trust it, who we are. Built from a kubeconfig
 * (kubeconfig.ts) or from EKS (eks.ts); the KubeClient only ever sees this.
 */
export interface Credentials {
  token?: string;
  /** PEM client certificate and key. */
  cert?: string;
  key?: string;
  /** When the credentials stop working (exec plugins, EKS tokens). */
  expiresAt?: Date;
}

export interface KubeConnection extends Credentials {
  /** https://host:port, no trailing slash. */
  server: string;
  /** PEM CA bundle the server's certificate must chain to. Undefined: the system roots. */
  ca?: string;
  insecureSkipVerify?: boolean;
  /** TLS server name override (kubeconfig tls-server-name). */
  tlsServerName?: string;
  /** The context's default namespace ('default' when it names none). */
  namespace: string;
  contextName?: string;
  /**
   * Fetches fresh credentials (exec plugins, EKS): called before the first request when the
   * connection has no credentials yet, when they expire, and once after a 401.
   */
  refresh?: () => Promise<Credentials>;
}
