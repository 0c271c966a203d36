// Timers faked before the harness loads (setupFiles, jest's fakeTimers.enableGlobally): its waits
// could never end, so createHarness refuses at once with what to do instead of hanging.
import { createMemoryBus } from '@omnibus/memory';
import { afterAll, expect, it, vi } from 'vitest';

vi.useFakeTimers();
afterAll(() => {
  vi.useRealTimers();
});

it('createHarness refuses with a hint when the timers were fake at load', async () => {
  const { createHarness } = await import('../src/index.js');
  const bus = createMemoryBus();
  expect(() => createHarness(bus)).toThrow(/timers were already faked when @omnibus\/harness loaded/);
  vi.useRealTimers();
  await bus.close();
});
