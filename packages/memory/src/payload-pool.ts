const SLAB_BYTES = 64 * 1024;
const POOLED_MAX_BYTES = 4 * 1024;

/**
 * Copies payloads (the publisher may reuse its buffer) into shared 64 KiB slabs,
 * the way Node pools small `Buffer`s: one allocation per slab instead of one per
 * message. Payloads over 4 KiB get a buffer of their own. The copies are views:
 * `payload.buffer` is the slab, so read a payload through the view (its
 * `byteOffset` and `byteLength`), never through `.buffer` alone.
 */
export class PayloadPool {
  #slab = new ArrayBuffer(SLAB_BYTES);
  #offset = 0;

  copy(bytes: Uint8Array): Uint8Array {
    const length = bytes.byteLength;
    if (length > POOLED_MAX_BYTES) return bytes.slice();
    if (this.#offset + length > SLAB_BYTES) {
      this.#slab = new ArrayBuffer(SLAB_BYTES);
      this.#offset = 0;
    }
    const view = new Uint8Array(this.#slab, this.#offset, length);
    view.set(bytes);
    this.#offset = (this.#offset + length + 7) & ~7; // 8-byte aligned, like Node's pool
    return view;
  }
}
