// Collects every text a bus shows the outside world — error messages, stacks
// and causes, log lines, status reports, stats, dead-letter headers — and finds
// the ones that contain a credential.
import { inspect } from 'node:util';
import type { BusStatus, Logger } from '@omnibus/core';

/** Every text the security checks saw, by where it came from. */
export class LeakCheck {
  readonly #texts: { where: string; text: string }[] = [];

  /** Records `text`, seen at `where`. */
  add(where: string, text: string): void {
    this.#texts.push({ where, text });
  }

  /** Records an error as every reader could see it: message, stack, `String()`, `inspect()` (cause chain and own fields included). */
  addError(where: string, error: unknown): void {
    if (error instanceof Error) {
      this.add(`${where} (message)`, error.message);
      this.add(`${where} (stack)`, error.stack ?? '');
    }
    this.add(`${where} (String)`, String(error));
    this.add(`${where} (inspect)`, inspect(error, { depth: 8, showHidden: true }));
    try {
      this.add(`${where} (JSON)`, JSON.stringify(error) ?? '');
    } catch {
      // circular: inspect() above has it all
    }
  }

  /** A logger recording every line at every level. */
  logger(where: string): Logger {
    const line = (level: string) => (message: string) => this.add(`${where} log (${level})`, String(message));
    return { warn: line('warn'), info: line('info'), debug: line('debug'), error: line('error') };
  }

  /** An `onStatus` hook recording every status report. */
  statusHook(where: string): (status: BusStatus) => void {
    return (status) => this.add(`${where} status`, JSON.stringify(status));
  }

  /** How many texts were recorded. */
  get size(): number {
    return this.#texts.length;
  }

  /** Where a text containing one of `secrets` was seen (each place once). */
  find(secrets: readonly string[]): string[] {
    const places = new Set<string>();
    for (const { where, text } of this.#texts) {
      if (secrets.some((s) => s.length > 0 && text.includes(s))) places.add(where);
    }
    return [...places];
  }
}
