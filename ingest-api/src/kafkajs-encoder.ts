import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * kafkajs 2.2.4 encodes every produce request with its `Encoder`, which starts
 * each record at 512 zero-filled bytes and grows by allocating a new
 * zero-filled buffer (`Buffer.alloc`) and copying. Profiled under load, those
 * allocations were the largest single self-time item of the ingest process
 * (`FastBuffer`, 13.7 % of busy time; bench/RESULTS.md).
 *
 * Three methods are replaced so that the encoder's memory comes from Node's
 * buffer pool (`Buffer.allocUnsafe`, pooled below 4 KiB, never zero-filled):
 * the constructor starts empty (through `nextPowerOfTwo`, which only it and
 * the growth path call) and the first write takes 512 bytes, as kafkajs would;
 * growth allocates unzeroed; unsigned varints are written in place instead of
 * through a temporary `Buffer.from(array)`. Unzeroed memory is safe for this
 * class: every write calls `ensureAvailable`, goes to `this.offset` and
 * advances it, and the encoder only ever exposes `buf.slice(0, offset)`, so no
 * byte past what was written is read. The unit test checks that produce
 * requests encode byte for byte as kafkajs' own encoder does, with the buffer
 * pool dirtied first.
 *
 * Applied only to the kafkajs version it was checked against; any other
 * version keeps its own encoder.
 */
const CHECKED_VERSION = '2.2.4';

interface EncoderLike {
  buf: Buffer;
  offset: number;
  ensureAvailable(length: number): void;
}
interface EncoderProto {
  ensureAvailable: (this: EncoderLike, length: number) => void;
  writeUVarInt: (this: EncoderLike, value: number) => EncoderLike;
}
interface EncoderClass {
  prototype: EncoderProto;
  nextPowerOfTwo: (value: number) => number;
}

const require = createRequire(import.meta.url);
let original:
  | {
      ensureAvailable: EncoderProto['ensureAvailable'];
      writeUVarInt: EncoderProto['writeUVarInt'];
      nextPowerOfTwo: EncoderClass['nextPowerOfTwo'];
    }
  | undefined;

function encoderClass(): EncoderClass | undefined {
  const root = dirname(require.resolve('kafkajs/package.json'));
  const { version } = require(join(root, 'package.json')) as { version: string };
  if (version !== CHECKED_VERSION) return undefined;
  return require(join(root, 'src/protocol/encoder.js')) as EncoderClass;
}

// kafkajs' default first capacity (nextPowerOfTwo(511)).
const FIRST_CAPACITY = 512;
const pow2Above = (value: number): number => 1 << (31 - Math.clz32(value) + 1);

/** Installs the faster allocation paths (once); returns whether they are active. */
export function installFastKafkajsEncoder(): boolean {
  const Encoder = encoderClass();
  if (!Encoder) return false;
  if (original) return true;
  original = {
    ensureAvailable: Encoder.prototype.ensureAvailable,
    writeUVarInt: Encoder.prototype.writeUVarInt,
    nextPowerOfTwo: Encoder.nextPowerOfTwo,
  };
  // The constructor is the only other caller of nextPowerOfTwo: it now starts
  // with an empty buffer, and the first write takes FIRST_CAPACITY bytes (or
  // more) from the pool instead of a zero-filled allocation of its own.
  Encoder.nextPowerOfTwo = () => 0;
  Encoder.prototype.ensureAvailable = function ensureAvailable(this: EncoderLike, length: number): void {
    const needed = this.offset + length;
    if (needed > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(FIRST_CAPACITY, pow2Above(needed)));
      this.buf.copy(grown, 0, 0, this.offset);
      this.buf = grown;
    }
  };
  // Same LEB128 loop as kafkajs, written in place instead of through Buffer.from(array).
  Encoder.prototype.writeUVarInt = function writeUVarInt(this: EncoderLike, value: number): EncoderLike {
    this.ensureAvailable(5);
    const buf = this.buf;
    let o = this.offset;
    while ((value & 0xffffff80) !== 0) {
      buf[o++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buf[o++] = value & 0x7f;
    this.offset = o;
    return this;
  };
  return true;
}

/** Restores kafkajs' own encoder (for the equivalence test and benchmarks). */
export function uninstallFastKafkajsEncoder(): void {
  const Encoder = encoderClass();
  if (!Encoder || !original) return;
  Encoder.prototype.ensureAvailable = original.ensureAvailable;
  Encoder.prototype.writeUVarInt = original.writeUVarInt;
  Encoder.nextPowerOfTwo = original.nextPowerOfTwo;
  original = undefined;
}
