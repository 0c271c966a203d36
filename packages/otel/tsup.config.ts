import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.config.base.js';

/** The shared build; the OpenTelemetry API stays outside the bundle (a peer dependency). */
export default defineConfig({
  ...(packageBuild as object),
  external: ['@opentelemetry/api'],
});
