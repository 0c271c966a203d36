import { AdapterNotInstalledError, ConfigError } from '@omnibus/core';
import type { AdapterFactory, AdapterRegistration } from './registry.js';

function missingPackage(error: unknown): string | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return undefined;
  const match = typeof message === 'string' ? /Cannot find (?:package|module) '([^']+)'/.exec(message) : null;
  if (!match?.[1]) return undefined;
  const specifier = match[1];
  // '@scope/name/deep' → '@scope/name'; 'name/deep' → 'name'; absolute paths stay as they are
  if (specifier.startsWith('/')) return specifier;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}

/**
 * The command that adds `packageName` with the package manager running this
 * process (from `npm_config_user_agent`, which npm, pnpm, yarn and bun set),
 * or `npm install` when it cannot tell.
 */
export function installCommand(
  packageName: string,
  env: Record<string, string | undefined> = globalThis.process?.env ?? {},
): string {
  const agent = (env.npm_config_user_agent ?? '').split('/', 1)[0]?.trim();
  switch (agent) {
    case 'pnpm':
      return `pnpm add ${packageName}`;
    case 'yarn':
      return `yarn add ${packageName}`;
    case 'bun':
      return `bun add ${packageName}`;
    default:
      return `npm install ${packageName}`;
  }
}

/**
 * Whether the `@omnibus/*` packages can be installed from the registry. Until
 * they can, `AdapterNotInstalledError` also says how to build and pack them.
 */
const PUBLISHED = false;

/**
 * What `AdapterNotInstalledError` tells a person to do: the install command, and
 * while the `@omnibus/*` packages are not published, how to get one meanwhile —
 * build and pack it from the Omnibus repository, then install the tarballs.
 */
export function installHint(packageName: string, command = installCommand(packageName)): string {
  if (PUBLISHED || !packageName.startsWith('@omnibus/')) return `install it: ${command}`;
  const dir = packageName.slice('@omnibus/'.length);
  const verb = command.slice(0, command.lastIndexOf(' ')); // `npm install`, `pnpm add` …
  return (
    `install it: ${command} once the @omnibus packages are published. Until then, in a clone of the ` +
    'Omnibus repository run `npx --yes pnpm@9.15.9 install && npx pnpm build`, then ' +
    `\`npx pnpm pack --pack-destination /tmp/omnibus\` in packages/${dir} and packages/core, and in your app ` +
    `\`${verb} /tmp/omnibus/omnibus-core-*.tgz /tmp/omnibus/omnibus-${dir}-*.tgz\` ` +
    '(the repository README, "Install")' +
    (dir === 'kafka'
      ? '; without internet access its native client builds from source: install with CKJS_LINKING=dynamic after the Debian packages libsasl2-dev liblz4-dev libzstd-dev (packages/kafka/README.md)'
      : '')
  );
}

/**
 * Imports `packageName` and returns its export `exportName`, a function — how the
 * built-in registrations load the `@omnibus` adapters (optional peer dependencies
 * of this package). A third party's registration writes its own `import()`.
 */
export async function importFactory(packageName: string, exportName: string): Promise<AdapterFactory> {
  const mod = (await import(packageName)) as Record<string, unknown>;
  const factory = mod[exportName];
  if (typeof factory !== 'function') {
    throw new ConfigError(
      'backend',
      `${packageName} does not export ${exportName}(); is it an Omnibus adapter of a matching version?`,
    );
  }
  return factory as AdapterFactory;
}

/**
 * Runs a registration's `load` and returns the adapter's factory. A missing
 * package (the adapter, or a client library it needs) gives
 * `AdapterNotInstalledError` naming what to install, and how (see `installHint`);
 * a `load` that gives no function, a `ConfigError`.
 */
export async function loadAdapter(registration: AdapterRegistration): Promise<AdapterFactory> {
  let factory: unknown;
  try {
    factory = await registration.load();
  } catch (error) {
    const missing = missingPackage(error);
    if (missing) {
      const packageName = missing.startsWith('/') ? (registration.packageName ?? missing) : missing;
      const command = installCommand(packageName);
      throw new AdapterNotInstalledError(registration.name, packageName, {
        cause: error,
        installCommand: command,
        hint: installHint(packageName, command),
      });
    }
    throw error;
  }
  if (typeof factory !== 'function') {
    throw new ConfigError(
      'backend',
      `load() of the ${registration.name} adapter gave ${typeof factory}, not its factory function`,
      {
        backend: registration.name,
        hint: "load must resolve to the function that creates the bus, e.g. async () => (await import('my-adapter')).createMyBus",
      },
    );
  }
  return factory as AdapterFactory;
}
