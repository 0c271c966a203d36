// The tests type-check configurations of every @omnibus adapter: importing their types brings
// each adapter's entry of BackendOptionsRegistry (@omnibus/core) into the program, as an app does.
import type {} from '@omnibus/kafka';
import type {} from '@omnibus/memory';
import type {} from '@omnibus/nats';
import type {} from '@omnibus/redis';
