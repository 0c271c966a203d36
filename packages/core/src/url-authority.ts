/** What {@link splitAuthority} found in a URL after its `scheme://`. */
export interface UrlAuthority {
  /** The raw `user:password` (or token) before the host list, when the URL has one. */
  readonly userinfo?: string;
  /** The host list (`h1:9092,h2:9092`). */
  readonly hosts: string;
  /** What follows the host list: `/path?query`, or ''. */
  readonly tail: string;
}

/**
 * Splits what follows `scheme://` into credentials, host list and the rest, for URLs whose
 * password may hold a raw `@`, `/` or `?` (a generated password pasted as it is). The
 * credentials end at the last `@` after which a valid host list follows (`isHost` says which
 * hosts are valid). `undefined` when an `@` is there but no such split exists: the caller says
 * the URL cannot be read without echoing it (it holds a password).
 */
export function splitAuthority(rest: string, isHost: (host: string) => boolean): UrlAuthority | undefined {
  const hostsAt = (from: number): { hosts: string; tail: string } => {
    const after = rest.slice(from);
    const end = after.search(/[/?#]/);
    return end < 0 ? { hosts: after, tail: '' } : { hosts: after.slice(0, end), tail: after.slice(end) };
  };
  const valid = (hosts: string) => {
    const list = hosts.split(',').filter(Boolean);
    return list.length > 0 && list.every(isHost);
  };
  if (!rest.includes('@')) return hostsAt(0);
  for (let at = rest.lastIndexOf('@'); at >= 0; at = at === 0 ? -1 : rest.lastIndexOf('@', at - 1)) {
    const found = hostsAt(at + 1);
    if (valid(found.hosts)) return { userinfo: rest.slice(0, at), ...found };
  }
  // an `@` only in the path or query (`?clientId=a@b`): no credentials
  const plain = hostsAt(0);
  return valid(plain.hosts) && !plain.hosts.includes('@') ? plain : undefined;
}

/**
 * Where the query of a URL (or a comma-separated server list) starts, -1 without one: the first
 * `?` after the last `@`, so that a `?` in a password is never read as parameters (nor shown in
 * an error naming one).
 */
export function queryStart(url: string): number {
  return url.indexOf('?', url.lastIndexOf('@') + 1);
}

/** `decodeURIComponent`, or `undefined` for a malformed escape (a raw `%` in a password). */
export function decodeUrlPart(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
