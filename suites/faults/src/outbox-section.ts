import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface OutboxRow {
  scenario: string;
  committed: number;
  delivered: number;
  lost: number;
  duplicateDeliveries: number;
  duplicateEffects: number;
  publishedFromRolledBack: number;
  orderBreaches: number;
  detail: string;
  passed: boolean;
}

interface OutboxReport {
  backend: string;
  generatedAt: string;
  rows: OutboxRow[];
}

function read(file: string): OutboxReport | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as OutboxReport;
  } catch {
    return undefined;
  }
}

/** The "outbox and inbox" section of docs/reliability.md, from reports/outbox.json (written by the outbox tests). */
export function outboxSection(root: string): string {
  const report = read(join(root, 'reports', 'outbox.json'));
  const table = report
    ? [
        '| scenario | committed | delivered | lost | duplicate deliveries | duplicate effects | from rolled-back | out of order | result | notes |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |',
        ...report.rows.map(
          (r) =>
            `| ${r.scenario} | ${r.committed} | ${r.delivered} | ${r.lost} | ${r.duplicateDeliveries} | ${r.duplicateEffects} | ${r.publishedFromRolledBack} | ${r.orderBreaches} | ${r.passed ? '✅' : '❌'} | ${r.detail.replaceAll('|', '\\|')} |`,
        ),
        '',
        `Run ${report.generatedAt.slice(0, 16).replace('T', ' ')} on ${report.backend} and PostgreSQL.`,
      ].join('\n')
    : '_not run yet_';
  return `## Outbox and inbox (PostgreSQL)

\`@omnibus/outbox\` is judged by its own fault tests (packages/outbox/test/faults.test.ts, run by
\`pnpm test\` against the machine's PostgreSQL and NATS; the database-crash row uses a PostgreSQL
server of its own on a spare port, stopped with SIGQUIT and started again). **Committed** counts
messages whose transaction the writer saw commit; **lost** is committed messages never delivered;
**duplicate effects** counts handler writes beyond the first of a message with the inbox; a row
passes with 0 lost, 0 duplicate effects, 0 published from rolled-back transactions and 0 out of
order (per subject, where the writer defined an order). Duplicate deliveries are at-least-once at
work and are reported, not hidden. Beside them, a model-based test (packages/outbox/test/model.test.ts,
fast-check, 40 histories with a fixed seed in \`pnpm test\`) runs random histories of writers that
commit or roll back, a long transaction left open across other commits, and relays started and
closed at any point, one or two at a time; its oracle wants every committed message delivered,
none of a rolled-back transaction, and each subject in the (xid, position) order of its rows. With
the relay's snapshot-xmin rule taken out it fails, shrunk to four steps (a transaction left open,
a relay, a later commit to the same subject).

${table}
`;
}
