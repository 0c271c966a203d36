import { type EventBus, InvalidArgumentError, manage } from '@omnibus/core';
import { type MeterProvider, metrics } from '@opentelemetry/api';
import { INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION } from './instrumentation.js';
import { ATTR, METRIC, messagingSystem } from './semconv.js';

/** Options of `observeLag`. */
export interface LagOptions {
  /** Where the gauge goes (default: the global meter provider). */
  meterProvider?: MeterProvider;
  /** How often the groups are asked (default 15,000 ms; at least 1,000). */
  intervalMs?: number;
  /** At most this many groups are reported (bounded cardinality; default 100; the largest lags win). */
  maxGroups?: number;
}

/** A running lag poll; `stop()` ends it. */
export interface LagObserver {
  stop(): void;
  /** Asks the groups now (the poll does it every `intervalMs`); resolves when the figures are in. */
  refresh(): Promise<void>;
}

/**
 * Reports each consumer group's lag (messages not delivered yet) as the gauge
 * `omnibus.consumer.lag`, from the management API (`manage(bus).groups()`), asked every
 * `intervalMs`. A group whose backend cannot tell its lag is left out, never reported as 0.
 *
 * @throws ConfigError when the bus has no management API.
 */
export function observeLag(bus: EventBus, options: LagOptions = {}): LagObserver {
  const intervalMs = options.intervalMs ?? 15_000;
  const maxGroups = options.maxGroups ?? 100;
  if (!Number.isFinite(intervalMs) || intervalMs < 1_000)
    throw new InvalidArgumentError(`intervalMs must be at least 1000, got ${String(intervalMs)}`);
  if (!Number.isInteger(maxGroups) || maxGroups < 1)
    throw new InvalidArgumentError(`maxGroups must be a positive integer, got ${String(maxGroups)}`);
  const admin = manage(bus);
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(
    INSTRUMENTATION_NAME,
    INSTRUMENTATION_VERSION,
  );
  const gauge = meter.createObservableGauge(METRIC.lag, {
    description: 'Messages of a consumer group not delivered yet (from the management API)',
    unit: '{message}',
  });
  let figures: { group: string; lag: number }[] = [];
  const system = messagingSystem(bus.backend);
  const callback = (result: { observe(value: number, attributes: Record<string, string>): void }) => {
    for (const { group, lag } of figures)
      result.observe(lag, { [ATTR.system]: system, [ATTR.consumerGroup]: group });
  };
  gauge.addCallback(callback);
  let running: Promise<void> | undefined;
  const refresh = (): Promise<void> => {
    running ??= admin
      .groups()
      .then((groups) => {
        figures = groups
          .filter((g): g is typeof g & { lag: number } => typeof g.lag === 'number')
          .sort((a, b) => b.lag - a.lag)
          .slice(0, maxGroups)
          .map((g) => ({ group: g.group, lag: g.lag }));
      })
      .catch(() => {
        // the backend is away: keep the last figures; the next poll tries again
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const timer = setInterval(() => void refresh(), intervalMs);
  timer.unref?.();
  void refresh();
  return {
    stop() {
      clearInterval(timer);
      gauge.removeCallback(callback);
    },
    refresh,
  };
}
