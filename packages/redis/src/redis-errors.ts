/** How Redis server replies are recognised; one place for the error prefixes. */

const text = (error: unknown) => String((error as Error)?.message ?? '');

/** The consumer group (or its stream) does not exist: the server lost it or it was deleted. */
export function isNoGroup(error: unknown): boolean {
  return text(error).startsWith('NOGROUP');
}

/** `XGROUP CREATE` found the group already there. */
export function isBusyGroup(error: unknown): boolean {
  return text(error).startsWith('BUSYGROUP');
}

/** The server wants credentials, or refused the ones given. */
export function isAuthError(error: unknown): boolean {
  return /^(NOAUTH|WRONGPASS|NOPERM)/.test(text(error));
}
