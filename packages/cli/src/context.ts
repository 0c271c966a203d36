import type { EventBus, Logger } from '@omnibus/core';
import { redact, renameConfigField } from '@omnibus/core';
import { createEventBusFromEnv } from '@omnibus/factory';
import { UsageError } from './errors.js';
import type { Output } from './io.js';

/** The options every command takes (before or after the command's name). */
export interface GlobalOptions {
  /** The bus to talk to; overrides `OMNIBUS_URL`. */
  url?: string;
  /** `--no-color` sets it to false. */
  color?: boolean;
  verbose?: boolean;
}

/** What a command runs with. */
export class CommandContext {
  readonly out: Output;
  readonly options: GlobalOptions;
  /** Aborted by SIGINT/SIGTERM. */
  readonly signal: AbortSignal;
  /** Set by a command that stops by itself on `signal` (and then chooses its exit code). */
  handlesInterrupt = false;
  #bus: EventBus | undefined;

  constructor(out: Output, options: GlobalOptions, signal: AbortSignal) {
    this.out = out;
    this.options = options;
    this.signal = signal;
  }

  /** The bus's adapter logs (connection loss, recovery) go to stderr, one line each; info only with --verbose. */
  get logger(): Logger {
    const { out } = this;
    const line = (level: string) => (message: string) =>
      out.note(out.ce.yellow(`omnibus: ${level}: ${redact(String(message)).replace(/\s*[\r\n]+\s*/g, ' ')}`));
    return {
      warn: line('warning'),
      error: line('error'),
      ...(out.verbose ? { info: line('info'), debug: line('debug') } : {}),
    };
  }

  /** The URL the command uses: `--url`, else `OMNIBUS_URL`. */
  get url(): string {
    const url = this.options.url?.trim() || this.out.io.env.OMNIBUS_URL?.trim();
    if (!url)
      throw new UsageError(
        `no bus to talk to: ${this.out.io.env.OMNIBUS_URL === undefined ? 'set OMNIBUS_URL' : 'OMNIBUS_URL is set but empty: give it the URL'} or pass --url (e.g. redis://127.0.0.1:6379, nats://127.0.0.1:4222)`,
      );
    return url;
  }

  /** Connects to the configured bus (once). */
  async bus(): Promise<EventBus> {
    if (this.#bus) return this.#bus;
    const env = this.out.io.env;
    const fromFlag = Boolean(this.options.url?.trim());
    try {
      this.#bus = await createEventBusFromEnv({
        env: { OMNIBUS_URL: this.url, OMNIBUS_REQUIRE: env.OMNIBUS_REQUIRE },
        logger: this.logger,
      });
    } catch (error) {
      // a URL given with --url is named so: `--url.strem`, not `OMNIBUS_URL.strem`
      throw fromFlag
        ? renameConfigField(error, (field) =>
            /^OMNIBUS_URL\b/.test(field) ? `--url${field.slice('OMNIBUS_URL'.length)}` : undefined,
          )
        : error;
    }
    return this.#bus;
  }

  /** Closes the bus if one was opened, bounded. */
  async close(timeoutMs = 5_000): Promise<void> {
    const bus = this.#bus;
    this.#bus = undefined;
    await bus?.close({ timeoutMs }).catch(() => undefined);
  }
}
