import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A throw-away certificate authority and a server certificate it signed, as PEM files. */
export interface TestCertificates {
  /** The CA certificate a client must trust (PEM text). */
  readonly ca: string;
  readonly caFile: string;
  /** The server certificate, for 127.0.0.1 and localhost. */
  readonly certFile: string;
  /** The server's private key (PKCS#8, unencrypted). */
  readonly keyFile: string;
  /** Removes the files. */
  dispose(): void;
}

/**
 * Makes a CA and a server certificate for `127.0.0.1` and `localhost` with the
 * machine's `openssl` (valid for 2 days), for tests of TLS listeners: a client
 * that trusts `ca` connects; one that does not is refused by its own
 * verification, as it would be by any self-signed server.
 */
export async function createTestCertificates(): Promise<TestCertificates> {
  const dir = mkdtempSync(join(tmpdir(), 'omnibus-tls-'));
  const at = (name: string) => join(dir, name);
  const openssl = (args: string[]) => run('openssl', args, { timeout: 30_000 });
  try {
    await openssl([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      at('ca.key'),
      '-out',
      at('ca.crt'),
      '-days',
      '2',
      '-subj',
      '/CN=omnibus-test-ca',
    ]);
    await openssl([
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      at('server.key'),
      '-out',
      at('server.csr'),
      '-subj',
      '/CN=localhost',
    ]);
    writeFileSync(at('san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    await openssl([
      'x509',
      '-req',
      '-in',
      at('server.csr'),
      '-CA',
      at('ca.crt'),
      '-CAkey',
      at('ca.key'),
      '-CAcreateserial',
      '-out',
      at('server.crt'),
      '-days',
      '2',
      '-extfile',
      at('san.cnf'),
    ]);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `[omnibus:testing] openssl could not make test certificates: ${(error as Error).message}`,
    );
  }
  return {
    ca: readFileSync(at('ca.crt'), 'utf8'),
    caFile: at('ca.crt'),
    certFile: at('server.crt'),
    keyFile: at('server.key'),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
