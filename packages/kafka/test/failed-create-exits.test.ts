// A failed create releases everything it opened: a process whose bus could not connect exits by
// itself, at once. Each case runs in a child `node` process importing the built package (dist).
import { testFailedCreateExits } from '@omnibus/testing';

testFailedCreateExits({
  module: new URL('../dist/index.js', import.meta.url).href,
  create: 'createKafkaBus',
  options: (port) => ({ url: `kafka://127.0.0.1:${port}`, connectTimeoutMs: 1_500 }),
  // Its sockets are released at once; what can remain are the connect retries kafkajs had already
  // scheduled (its retrier's timers cannot be cancelled from outside): at most about 2 s, each
  // finding a refused socket.
  exitWithinMs: 4_000,
});
