import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { installFastKafkajsEncoder, uninstallFastKafkajsEncoder } from '../../src/kafkajs-encoder.ts';

const require = createRequire(import.meta.url);
const root = dirname(require.resolve('kafkajs/package.json'));
// kafkajs' own Produce v3 request (what sendBatch encodes against Kafka 4).
const produceV3 = require(join(root, 'src/protocol/requests/produce/v3/request.js')) as (args: unknown) => {
  encode: () => Promise<{ buffer: Buffer }>;
};

interface Msg {
  key: string | null;
  value: Buffer;
  timestamp: number;
  headers?: Record<string, string>;
}

async function encode(
  topicData: Array<{ topic: string; partitions: Array<{ partition: number; firstSequence: number; messages: Msg[] }> }>,
): Promise<Buffer> {
  const req = produceV3({ acks: -1, timeout: 2000, topicData });
  return Buffer.from((await req.encode()).buffer);
}

/** Leaves garbage in Node's shared Buffer pool, where pooled allocUnsafe buffers come from. */
function dirtyPool(): void {
  for (let i = 0; i < 64; i++) Buffer.allocUnsafe(64 + i * 61).fill(0xa5);
}

const message = fc.record({
  key: fc.option(fc.string({ maxLength: 80 }), { nil: null }),
  value: fc.oneof(fc.uint8Array({ maxLength: 700 }), fc.uint8Array({ maxLength: 70_000 })).map((a) => Buffer.from(a)),
  timestamp: fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 }),
  headers: fc.option(fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), fc.string({ maxLength: 40 }), { maxKeys: 3 }), {
    nil: undefined,
  }),
});
const topicData = fc.array(
  fc.record({
    topic: fc.string({ minLength: 1, maxLength: 30 }),
    partitions: fc.array(
      fc.record({ partition: fc.nat(11), firstSequence: fc.nat(1000), messages: fc.array(message, { minLength: 1, maxLength: 200 }) }),
      { minLength: 1, maxLength: 3 },
    ),
  }),
  { minLength: 1, maxLength: 3 },
);

describe('fast kafkajs encoder growth (KAFKA_FAST_ENCODER)', () => {
  afterAll(() => uninstallFastKafkajsEncoder());

  it('is active for the kafkajs version in the lock file', () => {
    expect(installFastKafkajsEncoder()).toBe(true);
    uninstallFastKafkajsEncoder();
  });

  it('encodes produce requests byte for byte as kafkajs does, with a dirty buffer pool', async () => {
    await fc.assert(
      fc.asyncProperty(topicData, async (data) => {
        uninstallFastKafkajsEncoder();
        const reference = await encode(data);
        installFastKafkajsEncoder();
        dirtyPool();
        const fast = await encode(data);
        expect(fast.equals(reference)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('actually changes the growth path (the test above compares two different encoders)', () => {
    const Encoder = require(join(root, 'src/protocol/encoder.js')) as { prototype: Record<string, unknown>; nextPowerOfTwo: unknown };
    const methods = () => [Encoder.prototype.ensureAvailable, Encoder.prototype.writeUVarInt, Encoder.nextPowerOfTwo];
    uninstallFastKafkajsEncoder();
    const own = methods();
    installFastKafkajsEncoder();
    methods().forEach((m, i) => expect(m).not.toBe(own[i]));
    uninstallFastKafkajsEncoder();
    expect(methods()).toEqual(own);
  });
});
