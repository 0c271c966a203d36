import { subjectMatches } from '@omnibus/core';
import {
  type DeliveryRecord,
  endOf,
  expectedFor,
  MODEL_SETTINGS,
  type Observations,
  setMatcher,
} from './run-history.js';

setMatcher(subjectMatches);

/** Slack over `close({ timeoutMs })` before a close counts as unbounded (a liveness bound, not a speed claim). */
export const CLOSE_SLACK_MS = 2_500;

/**
 * Judges one history against the contract. Returns the breaches found, each a sentence
 * naming the message, the target and what was seen; empty when the history is correct.
 */
export function judge(obs: Observations): string[] {
  const out: string[] = [];
  // an id's message is its first stored publish (a deduplicated repeat is not a message of its own)
  const seqOf = new Map<string, number>();
  for (const p of obs.publishes) if (!p.duplicate && !seqOf.has(p.id)) seqOf.set(p.id, p.seq);
  for (const e of obs.errors) out.push(`operation failed on a healthy backend: ${e}`);

  // dedupe where declared
  if (obs.dedupe) {
    for (const p of obs.publishes)
      if (p.reused && !p.duplicate)
        out.push(`publish #${p.seq} reused id ${p.id} on ${p.subject} but was not reported duplicate`);
  }

  const byTarget = new Map<string, DeliveryRecord[]>();
  for (const d of obs.deliveries) {
    const list = byTarget.get(d.target) ?? [];
    byTarget.set(d.target, list);
    list.push(d);
  }

  for (const target of obs.targets.values()) {
    const deliveries = byTarget.get(target.key) ?? [];
    const name = target.group ? `group ${target.group}` : `subscription ${target.key}`;
    // every message published while it was live reached an end
    if (target.liveUntil === undefined) {
      for (const p of expectedFor(obs, target, subjectMatches)) {
        if (!endOf(obs, target.key, p.id)) {
          const seen = deliveries.filter((d) => d.id === p.id).map((d) => `${d.attempt}:${d.result}`);
          out.push(
            `${name} (${target.pattern}) never finished message #${p.seq} on ${p.subject} (published after it was live); hand-outs seen: [${seen.join(', ')}]`,
          );
        }
      }
    }
    // attempts count hand-outs: 1, 2, 3… each once, and nothing after an ack
    const attemptsOf = new Map<string, DeliveryRecord[]>();
    for (const d of deliveries) {
      const list = attemptsOf.get(d.id) ?? [];
      attemptsOf.set(d.id, list);
      list.push(d);
    }
    for (const [id, list] of attemptsOf) {
      const attempts = list.map((d) => d.attempt).sort((a, b) => a - b);
      const label = `message #${seqOf.get(id) ?? '?'} (${id}) on ${name}`;
      for (let i = 0; i < attempts.length; i++) {
        if (attempts[i] !== i + 1) {
          // `list` is in hand-out order (obs.deliveries is appended as handlers start)
          out.push(
            `${label}: attempts handed out were [${attempts.join(', ')}], not 1…${attempts.length} (in order: ${list.map((d) => `${d.attempt}:${d.result}@member ${d.member}`).join(', ')})`,
          );
          break;
        }
      }
      const acked = list.findIndex((d) => d.result === 'acked');
      if (acked >= 0 && list.some((d) => d.attempt > (list[acked] as DeliveryRecord).attempt))
        out.push(
          `${label}: handed out again after attempt ${(list[acked] as DeliveryRecord).attempt} was acked`,
        );
    }
    if (target.group !== undefined) {
      const n = obs.deadLetters.filter((x) => x.group === target.group).length;
      const ids = new Set(obs.deadLetters.filter((x) => x.group === target.group).map((x) => x.id));
      if (n > ids.size) out.push(`${name}: a message was dead-lettered more than once`);
    }
    // per-subject order for one consumer whose every outcome succeeds
    if (target.group === undefined && target.allSucceed) {
      const last = new Map<string, number>();
      for (const d of [...deliveries].sort((a, b) => a.order - b.order)) {
        const seq = seqOf.get(d.id);
        if (seq === undefined || d.attempt !== 1) continue;
        const previous = last.get(d.subject) ?? -1;
        if (seq < previous)
          out.push(
            `${name}: message #${seq} on ${d.subject} handed out after #${previous} (per-subject order broken)`,
          );
        last.set(d.subject, seq);
      }
    }
  }

  // a dead-letter only for an attempt a handler saw, and only for a reason: term, or the last attempt failed
  for (const x of obs.deadLetters) {
    const seen = obs.deliveries.filter((d) => d.id === x.id && obs.targets.get(d.target)?.group === x.group);
    const explained = seen.some(
      (d) =>
        d.attempt === x.attempt &&
        (d.result === 'termed' || (d.attempt >= MODEL_SETTINGS.maxAttempts && d.result !== 'acked')),
    );
    if (!explained)
      out.push(
        `message #${seqOf.get(x.id) ?? '?'} (${x.id}) dead-lettered${x.group ? ` from group ${x.group}` : ''} at attempt ${x.attempt} (${x.reason}); hand-outs seen: [${seen.map((d) => `${d.attempt}:${d.result}`).join(', ')}]`,
      );
  }

  for (const c of obs.closes) {
    const s = c.stats;
    if (s.delivered !== s.acked + s.nakked + s.deadLettered + s.inFlight)
      out.push(
        `bus ${c.bus}: stats do not balance after close: delivered ${s.delivered} ≠ acked ${s.acked} + nakked ${s.nakked} + dead-lettered ${s.deadLettered} + in flight ${s.inFlight}`,
      );
    if (c.ms > MODEL_SETTINGS.closeTimeoutMs + CLOSE_SLACK_MS)
      out.push(
        `bus ${c.bus}: close({ timeoutMs: ${MODEL_SETTINGS.closeTimeoutMs} }) took ${Math.round(c.ms)} ms`,
      );
  }
  return out;
}
