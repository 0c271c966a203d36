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

/** A URL safe to print: credentials and secret query parameters replaced by `***`. */
export function redactUrl(url: string): string {
  return redact(url);
}
