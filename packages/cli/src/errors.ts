import { formatError, isOmnibusError, redact } from '@omnibus/core';

/** The exit codes of `omnibus`. */
export const EXIT = {
  /** Done. */
  ok: 0,
  /** The command failed: the broker, the network, a missing dead letter, a purge not confirmed… */
  error: 1,
  /** Bad usage: an unknown command or option, a malformed argument, subject, time or URL. */
  usage: 2,
  /** Stopped by SIGINT/SIGTERM before it finished (a redrive, a purge, a bench); 128 + 2. */
  interrupted: 130,
} as const;

/** Bad usage: exits with code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A failure the command explains itself (no class name in front): exits with code 1. */
export class CommandError extends Error {
  override name = 'CommandError';
}

/** The exit code an error ends the run with. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError) return EXIT.usage;
  if (isOmnibusError(error)) {
    const { code } = error as { code: string };
    if (code === 'INVALID_SUBJECT' || code === 'INVALID_ARGUMENT') return EXIT.usage;
    // the configuration the user gave (OMNIBUS_URL / --url) is wrong; a missing capability is not usage
    if (code === 'CONFIG' && /^(OMNIBUS_URL|--url)\b/.test((error as { field?: string }).field ?? ''))
      return EXIT.usage;
  }
  return EXIT.error;
}

/**
 * The one line an error is reported with, credentials removed (`redact` also runs over what
 * `formatError` already redacted: a client library's message may carry a URL).
 */
export function errorLine(error: unknown): string {
  if (error instanceof UsageError || error instanceof CommandError)
    return redact(error.message.replace(/\s*[\r\n]+\s*/g, ' '));
  return redact(formatError(error));
}
