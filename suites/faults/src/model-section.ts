import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ModelEntry {
  backend: string;
  passed: boolean;
  runs: number;
  commands: number;
  seed: number;
  durationMs: number;
  generatedAt: string;
  failure?: { violations: string[]; replay: string };
}

const read = (file: string): ModelEntry[] => {
  try {
    return Object.values(JSON.parse(readFileSync(file, 'utf8')) as Record<string, ModelEntry>);
  } catch {
    return [];
  }
};

const table = (entries: ModelEntry[]): string[] => [
  '| backend | histories | commands | seed | time | result | when |',
  '| --- | ---: | ---: | ---: | ---: | --- | --- |',
  ...entries.map(
    (e) =>
      `| ${e.backend} | ${e.runs.toLocaleString('en-US')} | ${e.commands.toLocaleString('en-US')} | ${e.seed} | ${(e.durationMs / 1000).toFixed(0)} s | ${e.passed ? '✅ passed' : `❌ ${e.failure?.violations[0] ?? 'failed'}`} | ${e.generatedAt.slice(0, 16).replace('T', ' ')} |`,
  ),
];

/** The "random histories" section of docs/reliability.md, from reports/model.json and reports/model-soak.json. */
export function modelSection(root: string): string {
  const ci = read(join(root, 'reports', 'model.json'));
  const soak = read(join(root, 'reports', 'model-soak.json'));
  return `## Random histories (model-based test of the contract)

\`checkContractModel\` (@omnibus/conformance, fast-check; @omnibus/testing re-exports it for vitest) runs random histories — publishes to old,
new, non-ASCII and reused-id subjects; subscriptions and consumers with patterns, groups, both ack
modes and \`maxInFlight\` 1–4; handler outcomes ack, throw, nak with a delay, term, slow, and hang
past the ack timeout; member restarts on a second bus; closes of that bus — and judges each with an
oracle: every message published while a subscription or group was live is acked or dead-lettered;
attempts count hand-outs (1, 2, 3…, none twice, nothing after an ack, no dead-letter for an attempt
no handler saw); per-subject order for one consumer whose handler always succeeds; dedupe where
declared; \`stats()\` balanced after close; \`close({ timeoutMs: 2000 })\` within 4.5 s. A failure
prints its seed, the shrunk history and the command that replays it.

Fixed budget, run by \`pnpm test\` (reports/model.json):

${ci.length > 0 ? table(ci).join('\n') : '_not run yet_'}

Soaks, run by \`pnpm test:model --runs N\` (reports/model-soak.json):

${soak.length > 0 ? table(soak).join('\n') : '_none yet_'}
`;
}
