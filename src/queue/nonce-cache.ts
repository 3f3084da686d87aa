import { NonceRead } from './queue.repository';

/**
 * A replica's copy of one nonce string (lua/includes/nonces.lua): the join
 * nonces of a run of numbers (sequences, or pre-queue numbers), 4 bytes
 * each, read piece by piece as the string grows (queueHead), so a waiting
 * ticket's nonce is compared in memory. It remembers one nonce it read (the
 * last non-zero one) as a check point: when Redis loses writes the replica
 * had read, the bytes there differ or are gone, and the copy starts over.
 */
export class NonceCache {
  /** the number the first 4 bytes belong to; 0: nothing read yet */
  private start = 0;
  private bytes = Buffer.alloc(0);
  private checkAt = 0;
  private checkValue = 0;
  /** counts clear(): a read asked for before the last one is not applied */
  private generation = 0;

  /** one past the last number held */
  get end(): number {
    return this.start + this.bytes.length / 4;
  }

  /** What to ask queueHead for next: the check point and the first number not held (0: let it choose). */
  cursor(): { check: number; from: number; generation: number } {
    return { check: this.checkAt, from: this.start === 0 ? 0 : this.end, generation: this.generation };
  }

  /**
   * Adds a piece read from Redis. Returns false when the check point no
   * longer holds the nonce read there (Redis lost writes): the copy is then
   * emptied and read again from scratch. A read asked for before the copy
   * was last emptied (`generation` of its cursor) is dropped.
   */
  apply(read: NonceRead, generation: number): boolean {
    if (generation !== this.generation) return true;
    if (this.checkAt > 0 && (read.check.length < 4 || read.check.readUInt32BE(0) !== this.checkValue)) {
      this.clear();
      return false;
    }
    const whole = read.bytes.subarray(0, read.bytes.length - (read.bytes.length % 4));
    if (this.start === 0 || read.from !== this.end) {
      // The first piece (or one that does not follow on: start again from it).
      this.start = read.from;
      this.bytes = Buffer.from(whole);
    } else if (whole.length > 0) {
      this.bytes = Buffer.concat([this.bytes, whole]);
    }
    for (let i = whole.length - 4; i >= 0; i -= 4) {
      const value = whole.readUInt32BE(i);
      if (value !== 0) {
        this.checkAt = read.from + i / 4;
        this.checkValue = value;
        break;
      }
    }
    return true;
  }

  /** The nonce stored for number n (0: none was written), or undefined when this copy does not hold n. */
  get(n: number): number | undefined {
    if (this.start === 0 || n < this.start || n >= this.end) return undefined;
    return this.bytes.readUInt32BE((n - this.start) * 4);
  }

  /** Forgets numbers below n (their turn came), copying only when a good part of the buffer can go. */
  dropBelow(n: number): void {
    const drop = Math.min(n, this.end) - this.start;
    if (this.start === 0 || drop < 16_384 || drop * 2 < this.end - this.start) return;
    this.bytes = Buffer.from(this.bytes.subarray(drop * 4));
    this.start += drop;
  }

  clear(): void {
    this.generation += 1;
    this.start = 0;
    this.bytes = Buffer.alloc(0);
    this.checkAt = 0;
    this.checkValue = 0;
  }
}
