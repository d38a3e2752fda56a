/**
 * WWW-Authenticate challenges (RFC 7235) as registries send them:
 *   Basic realm="Registry Realm"
 *   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"
 * and token scopes (repository:<name>:<actions>), which the client compares to reuse cached tokens.
 */
export interface Challenge {
  /** Lowercased: 'basic', 'bearer', ... */
  scheme: string;
  params: Record<string, string>;
}

/** Parses a WWW-Authenticate header value (or several) into its challenges, in order. */
export function parseWwwAuthenticate(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const values = Array.isArray(header) ? header : [header];
  const out: Challenge[] = [];
  for (const value of values) {
    let i = 0;
    const s = value;
    const skipWs = () => {
      while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
    };
    const readToken = () => {
      const start = i;
      while (i < s.length && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(s[i]!)) i++;
      return s.slice(start, i);
    };
    let current: Challenge | undefined;
    while (i < s.length) {
      skipWs();
      if (s[i] === ',') {
        i++;
        continue;
      }
      const save = i;
      const tok = readToken();
      if (!tok) {
        i++; // garbage: skip a character
        continue;
      }
      skipWs();
      if (s[i] === '=' && current) {
        // auth-param: name=value (token or quoted-string)
        i++;
        skipWs();
        let val = '';
        if (s[i] === '"') {
          i++;
          while (i < s.length && s[i] !== '"') {
            if (s[i] === '\\' && i + 1 < s.length) i++;
            val += s[i];
            i++;
          }
          i++; // closing quote
        } else {
          const start = i;
          while (i < s.length && s[i] !== ',') i++;
          val = s.slice(start, i).trim();
        }
        current.params[tok.toLowerCase()] = val;
      } else if (s[i] === '=' && !current) {
        // token68 without a scheme: not a challenge we understand
        i = save + tok.length + 1;
      } else {
        current = { scheme: tok.toLowerCase(), params: {} };
        out.push(current);
      }
    }
  }
  return out;
}

/** A token scope: repository:org/app:pull,push (type:name:actions; names may hold ':' only for registry:catalog:*). */
export interface Scope {
  type: string;
  name: string;
  actions: string[];
}

export function parseScope(scope: string): Scope | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last === first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(',')
      .filter(Boolean),
  };
}

export function formatScope(s: Scope): string {
  return `${s.type}:${s.name}:${s.actions.join(',')}`;
}

export function repositoryScope(repository: string, actions: string[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}

/** Merges scopes of the same resource: [repo:a:pull, repo:a:push] -> [repo:a:pull,push]; sorted, stable. */
export function normaliseScopes(scopes: string[]): string[] {
  const byResource = new Map<string, Set<string>>();
  for (const raw of scopes.flatMap((s) => s.split(' ')).filter(Boolean)) {
    const s = parseScope(raw);
    if (!s) continue;
    const key = `${s.type}:${s.name}`;
    const set = byResource.get(key) ?? new Set<string>();
    for (const a of s.actions) set.add(a);
    byResource.set(key, set);
  }
  return [...byResource.entries()].map(([k, acts]) => `${k}:${[...acts].sort().join(',')}`).sort();
}

/** Whether a token granted for `granted` scopes is good for every scope in `needed`. */
export function scopesCover(granted: string[], needed: string[]): boolean {
  const have = new Map<string, Set<string>>();
  for (const g of granted) {
    const s = parseScope(g);
    if (!s) continue;
    const key = `${s.type}:${s.name}`;
    const set = have.get(key) ?? new Set<string>();
    for (const a of s.actions) set.add(a);
    have.set(key, set);
  }
  return needed.every((n) => {
    const s = parseScope(n);
    if (!s) return false;
    const set = have.get(`${s.type}:${s.name}`);
    return !!set && (set.has('*') || s.actions.every((a) => set.has(a)));
  });
}
