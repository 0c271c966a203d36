import type { ConnectionOptions as TlsOptions } from 'node:tls';

type Pem = string | Buffer | (string | Buffer)[] | undefined;

const pem = (value: Pem): string | undefined =>
  value === undefined ? undefined : (Array.isArray(value) ? value : [value]).map(String).join('\n');

/**
 * librdkafka's TLS settings for the `ssl` option's Node TLS options: `ca`, `cert` and `key` as
 * PEM text, `passphrase`, and `rejectUnauthorized: false` (no certificate verification). `true`
 * needs none (the system's CAs).
 */
export function tlsConfig(ssl: boolean | TlsOptions | undefined): Record<string, string | boolean> {
  if (!ssl || ssl === true) return {};
  const out: Record<string, string | boolean> = {};
  const ca = pem(ssl.ca as Pem);
  const cert = pem(ssl.cert as Pem);
  const key = pem(ssl.key as Pem);
  if (ca) out['ssl.ca.pem'] = ca;
  if (cert) out['ssl.certificate.pem'] = cert;
  if (key) out['ssl.key.pem'] = key;
  if (typeof ssl.passphrase === 'string') out['ssl.key.password'] = ssl.passphrase;
  if (ssl.rejectUnauthorized === false) out['enable.ssl.certificate.verification'] = false;
  return out;
}
