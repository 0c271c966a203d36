/** Who prints a line: the first column. */
export type Who = 'service' | 'audit' | 'billing' | 'eu-report' | 'dlq';

/** What happened: the second column. */
export type What = 'placed' | 'duplicate' | 'saw' | 'report' | 'charged' | 'failed' | 'skipped' | 'parked';

/**
 * Prints one event as a row — who, what, order id, details — at the moment it happens (never
 * after an `await`), so the lines come out in the order the events happened.
 */
export type Print = (who: Who, what: What, orderId: string, details?: string) => void;

const WHO_WIDTH = 'eu-report'.length;
const WHAT_WIDTH = 'duplicate'.length;

const columns = (who: string, what: string, order: string, details: string, orderWidth: number) =>
  `${who.padEnd(WHO_WIDTH)}  ${what.padEnd(WHAT_WIDTH)}  ${order.padEnd(orderWidth)}  ${details}`.trimEnd();

/** The legend printed before the first event, ending with the column headings. */
export function legend(orderWidth: number): string[] {
  const who = (name: Who, text: string) => `  ${name.padEnd(WHO_WIDTH)}  ${text}`;
  return [
    'legend (lines appear in the order the events happen):',
    who('service', 'places orders: publishes orders.<region>.created, the order id as message id'),
    who('audit', 'tails every order event (orders.>)'),
    who('billing', 'group "billing" (worker-a, worker-b): failed → retried with backoff, dead-lettered at 3'),
    who('eu-report', 'typed, validated consumer of orders.eu.created'),
    who('dlq', 'watches the dead-letter subjects (dlq.orders.>)'),
    '',
    columns('who', 'what', 'order', 'details', orderWidth),
  ];
}

/** A `Print` writing aligned rows through `log`; `orderWidth` is the longest order id. */
export function createPrinter(log: (line: string) => void, orderWidth: number): Print {
  return (who, what, orderId, details = '') => log(columns(who, what, orderId, details, orderWidth));
}
