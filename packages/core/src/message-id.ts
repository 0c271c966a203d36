const hex = (value: number, digits: number) => value.toString(16).padStart(digits, '0');
const BYTE_HEX = Array.from({ length: 256 }, (_, i) => hex(i, 2));
const byteHex = (value: number) => BYTE_HEX[value & 0xff] as string;

/**
 * UUIDv7 ids (RFC 9562): 48 bits of Unix milliseconds, then 74 bits that are
 * random per process with a counter in the low 32 bits (the RFC's "monotonic
 * random" method). Ids sort by creation time, are unique within a process, and
 * two processes collide only if their 42 random bits match. Everything but the
 * counter is formatted once per millisecond, so an id costs a clock read and
 * eight hex digits.
 */
class IdGenerator {
  #millis = -1;
  #head = '';
  #randomA = 0;
  #randomB = 0;
  #counter = 0;

  constructor() {
    this.#reseed();
  }

  #reseed(): void {
    const [a = 0, b = 0] = globalThis.crypto.getRandomValues(new Uint32Array(2));
    this.#randomA = a & 0xfff; // 12 bits
    this.#randomB = b >>> 2; // 30 bits
    this.#counter = 0;
    this.#millis = -1;
  }

  next(): string {
    const now = Date.now();
    if (now !== this.#millis) {
      this.#millis = now;
      const high = Math.floor(now / 0x10000);
      const low = now % 0x10000;
      // xxxxxxxx-xxxx-7aaa-(10)bbb-bbbb<counter>
      const variantAndB = 0x8000 | (this.#randomB >>> 16); // 2 variant bits + 14 random bits
      const restOfB = this.#randomB & 0xffff; // 16 random bits
      this.#head = `${hex(high, 8)}-${hex(low, 4)}-7${hex(this.#randomA, 3)}-${hex(variantAndB, 4)}-${hex(restOfB, 4)}`;
    }
    const counter = this.#counter++;
    if (this.#counter > 0xffffffff) this.#reseed();
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

/** A fresh unique message id (a UUIDv7: time-ordered, see `IdGenerator`). */
export function generateId(): string {
  return ids.next();
}
