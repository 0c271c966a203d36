const hex = (value: number, digits: number) => value.toString(16).padStart(digits, '0');
const BYTE_HEX = Array.from({ length: 256 }, (_, i) => hex(i, 2));
const byteHex = (value: number) => BYTE_HEX[value & 0xff] as string;

/**
 * UUIDv7 ids (RFC 9562): 48 bits of Unix milliseconds, then 73 random bits
 * drawn afresh every millisecond, the low 31 of them a counter that starts at a
 * random value and counts up within the millisecond (the RFC's "monotonic
 * random" method). Ids sort by creation time and are unique within a process;
 * across processes they share a prefix only by a 42-bit coincidence in the same
 * millisecond. Everything but the counter is formatted once per millisecond, so
 * an id costs a clock read and eight hex digits. Not secret: an id announces
 * when it was made, as any v7 does.
 */
class IdGenerator {
  #millis = -1;
  #head = '';
  #counter = 0;
  readonly #random = new Uint32Array(3);

  next(clock: number): string {
    // never before the last id's millisecond (a clock stepped back, or a caller's stale or
    // fractional time): the RFC lets a generator reuse the last timestamp, and the counter runs on
    const now = Math.max(Math.floor(Number.isFinite(clock) ? clock : Date.now()), this.#millis);
    if (now !== this.#millis) {
      this.#millis = now;
      const [a = 0, b = 0, c = 0] = globalThis.crypto.getRandomValues(this.#random);
      const randomA = a & 0xfff; // 12 bits
      const randomB = b >>> 2; // 30 bits
      this.#counter = c >>> 1; // 31 random bits: room for 2^31 ids in the millisecond
      const high = Math.floor(now / 0x10000);
      const low = now % 0x10000;
      // xxxxxxxx-xxxx-7aaa-(10)bb-bbbb<counter>
      const variantAndB = 0x8000 | (randomB >>> 16); // 2 variant bits + 14 random bits
      this.#head = `${hex(high, 8)}-${hex(low, 4)}-7${hex(randomA, 3)}-${hex(variantAndB, 4)}-${hex(randomB & 0xffff, 4)}`;
    }
    const counter = this.#counter++;
    return (
      this.#head +
      byteHex(counter >>> 24) +
      byteHex(counter >>> 16) +
      byteHex(counter >>> 8) +
      byteHex(counter)
    );
  }
}

const ids = new IdGenerator();

/**
 * A fresh unique message id (a UUIDv7: time-ordered, see `IdGenerator`).
 * `now`: the clock (epoch ms) when the caller has just read it (a publish's time).
 */
export function generateId(now: number = Date.now()): string {
  return ids.next(now);
}
