/**
 * librdkafka's consumers wait for records on threads of libuv's pool (the client's fetch is a
 * pool task that blocks until records arrive or its wait ends). The pool has 4 threads unless
 * the process starts with `UV_THREADPOOL_SIZE`: with as many consumers as threads, publishes,
 * admin requests, closes and Node's own file and DNS work queue behind the fetches — in the
 * contract model's soak a producer's disconnect waited 25 s. Counted over every
 * bus of the process; the first time the consumers fill the pool, one warning says what to do.
 */

/** The consumers alive in this process, over every bus. */
let live = 0;
let warned = false;

/** The size of libuv's thread pool, as the process started with it (4 unless `UV_THREADPOOL_SIZE` says). */
export function threadPoolSize(): number {
  const n = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n > 0 ? Math.min(n, 1024) : 4;
}

/**
 * Counts one consumer while it lives; calls `warn` once per process when the consumers reach
 * the pool's size. Returns the release (once; later calls do nothing).
 */
export function holdPoolSeat(warn: (message: string) => void): () => void {
  live++;
  const size = threadPoolSize();
  if (!warned && live >= size) {
    warned = true;
    warn(
      `${live} Kafka consumers in this process and libuv's thread pool has ${size} threads: each consumer's fetch holds one while it waits, so publishes, admin requests and closes wait behind them. Start the process with UV_THREADPOOL_SIZE set above the number of subscriptions (for example UV_THREADPOOL_SIZE=${Math.min(1024, Math.max(16, 2 * live))}; it must be set before Node starts its pool)`,
    );
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    live--;
  };
}
