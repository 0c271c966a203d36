export type { ConsoleOptions, ConsoleServer } from './console/start-console.js';
export { startConsole } from './console/start-console.js';
export type { GlobalOptions } from './context.js';
export { EXIT } from './errors.js';
export type { CliIo } from './io.js';
export type { RunCliOptions } from './program.js';
export { runCli } from './program.js';
