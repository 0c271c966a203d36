/**
 * The userinfo of a URL: everything between `scheme://` and the last `@` before the host — a
 * password may hold a raw `@`, `/` or `//` (base64 passwords do), so it runs to the last `@`;
 * only `,scheme://`, the start of the next URL of a list, stops it. A userinfo without `:` (a
 * token) stops at `/`, and none starts with `/` (`file:///…/pkg@1.0/`), so a path's `@` stays.
 * Lengths are bounded (user 256, the rest 1,024): no quadratic scan of long text.
 */
const URL_CREDENTIALS =
  /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*:\/\/)((?!\/)[^\s"'`/:]{0,256}:(?:(?!,[a-z][a-z0-9+.-]*:?\/\/)[^\s"'`]){0,1024}|[^\s"'`/]{0,1024})@(?=[^\s@/"'`])/gi;
/**
 * `user:password@host` with no scheme or a mistyped one (`nats//`, `nats:/`, `//`, `nats:`):
 * anything containing a `:` from the start of a word (or a `/`, `\\`) up to the last `@`
 * before a host (the password part may hold a `/`, not start with the `//` of a scheme).
 * `scheme:user:password@` loses the scheme too: better too much than a password.
 */
const BARE_CREDENTIALS =
  /(^|[\s"'`(<[{=,;/\\])([^\s"'`/\\:]{0,256}:(?!\/\/)(?:(?!,[a-z][a-z0-9+.-]*:?\/\/)[^\s"'`\\]){0,1024})@(?=[^\s@/"'`])/g;
/** `token@host:port` written without a scheme, or after a mistyped one (an e-mail address has no port). */
const BARE_TOKEN = /(^|[\s"'`(<[{=,;/\\])([^\s"'`/\\@:]+)@(?=[A-Za-z0-9.[\]-]+:\d)/g;
const SECRET_PARAMS =
  /\b(password|passwd|pass|pwd|token|secret|auth|apikey|api_key|access_key|sasl_password|credentials?)=([^&\s,;]+)/gi;
/** `"password": "…"` as in JSON dumps of options. */
const SECRET_FIELDS =
  /("(?:password|passwd|pass|pwd|token|secret|apikey|api_key|access_key|sasl_password|credentials?)"\s*:\s*)("(?:[^"\\]|\\.)*"|[^\s,}]+)/gi;
/** `Authorization: Bearer …`. */
const AUTH_SCHEMES = /\b(Bearer)\s+[A-Za-z0-9._~+/=-]{8,}/g;
/**
 * A NATS nkey seed (`SU…`, `SA…`, `SO…`: 58 base32 characters), alone or inside a
 * .creds file — wherever it starts, as in a JSON-escaped `\nSU…` or a URL-encoded
 * `%0ASU…` (no word boundary asked: 58 upper-case base32 characters in a row are
 * not something else in practice).
 */
const NKEY_SEEDS = /S[UAONCXP][A-Z2-7]{56}/g;

/**
 * Removes credentials from free text: the `user:password@` part of URLs (with, without
 * or with a mistyped scheme: `nats//`, `nats:/`, `//`, `nats:`), the values of secret-looking query parameters and fields
 * (`password=…`, `"token": "…"`), `Bearer` tokens and NATS nkey seeds. Used on every
 * error message Omnibus builds and on every string it reports (stats,
 * dead-letter headers).
 */
export function redact(text: string): string {
  return text
    .replace(URL_CREDENTIALS, '$1***@')
    .replace(BARE_CREDENTIALS, '$1***@')
    .replace(BARE_TOKEN, '$1***@')
    .replace(SECRET_PARAMS, '$1=***')
    .replace(SECRET_FIELDS, '$1***')
    .replace(AUTH_SCHEMES, '$1 ***')
    .replace(NKEY_SEEDS, 'S***');
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
