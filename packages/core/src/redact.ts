const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)([^/\s@]*)@/gi;
const SECRET_PARAMS =
  /\b(password|passwd|pass|pwd|token|secret|auth|apikey|api_key|access_key|sasl_password|credentials?)=([^&\s,;]+)/gi;

/**
 * Removes credentials from free text: the `user:password@` part of URLs and the
 * values of secret-looking query parameters. Used on every error message Omnibus
 * builds and on every string it reports (stats, dead-letter headers).
 */
export function redact(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1***@').replace(SECRET_PARAMS, '$1=***');
}

/**
 * A copy of an error that is safe to keep as `cause`: same name, code and stack
 * shape, message redacted. Client libraries sometimes put URLs with credentials
 * in their messages.
 */
export function safeCause(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(redact(String(error)));
  const copy = new Error(redact(error.message));
  copy.name = error.name;
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) (copy as { code?: unknown }).code = code;
  copy.stack = error.stack ? redact(error.stack) : undefined;
  return copy;
}
