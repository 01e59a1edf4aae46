/**
 * Scenario 9: poison messages written straight into an activity topic (not
 * through ingest, as a buggy or hostile producer would): invalid JSON,
 * invalid UTF-8, lone surrogates, a 900 KB value, a non-object, and a
 * __proto__ / constructor.prototype payload. Both processors must dead-letter
 * what they cannot use (with the reason and the origin offset) and keep the
 * partition moving: the good events behind the poison on the same partition
 * are applied and stored exactly once. Runs on the shared services (nothing
 * is broken), under its own TOPIC_PREFIX.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEAD_LETTER_TOPIC, topicName, type DeadLetter, type EnrichedEvent } from '@storepulse/contracts';
import { cleanup, consumeUntil, startTestApp, TEST_BROKERS, type TestApp } from '../../../scripts/src/testing/app.ts';
import { checkRedis, checkWarehouse, waitLagZero } from '../../faults/checker.ts';
import { EventFactory, Ledger, sendBatch } from '../../faults/ledger.ts';
import { record, saveOutput } from '../../faults/scenario.ts';

let app: TestApp;
let producer: Producer;
const run = `pz${Date.now().toString(36)}`;
const ledger = new Ledger();
const factory = new EventFactory(run);
const visitor = factory.visitor(0);

function enriched(id: string, extra: Record<string, unknown> = {}): EnrichedEvent & Record<string, unknown> {
  const now = Date.now();
  return {
    event_id: id,
    type: 'search',
    timestamp: now - 60_000,
    date: now - 60_000,
    received_at: now,
    sent_at: now,
    anonymous_id: visitor,
    user_id: null,
    user_verified: false,
    site: 'demo',
    page_url: '/search',
    page_path: '/search',
    search_keyword: 'humidifier',
    context: { is_bot: false },
    ...extra,
  };
}

// Each must be dead-lettered by both processors.
const POISON: Array<{ name: string; value: Buffer }> = [
  { name: 'invalid JSON', value: Buffer.from('{"event_id": "x", "type": "search", oops') },
  { name: 'invalid UTF-8 bytes', value: Buffer.from([0xff, 0xfe, 0x7b, 0x22, 0xc0, 0xaf, 0x7d]) },
  { name: 'a 900 KB value', value: Buffer.from(JSON.stringify(enriched(`${run}-big`, { search_keyword: 'x'.repeat(900_000) }))) },
  { name: 'a JSON array', value: Buffer.from('[1,2,3]') },
  { name: 'an empty value', value: Buffer.alloc(0) },
];
// Each must be either handled as an ordinary event or dead-lettered, never crash or stall.
const ODD: Array<{ name: string; id: string; value: Buffer }> = [
  // An escaped lone surrogate ("\ud800", valid JSON): ClickHouse rejects such
  // a row (code 25), which once stalled the partition (RELIABILITY.md F1).
  {
    name: 'escaped lone surrogate',
    id: `${run}-surrogate`,
    value: Buffer.from(JSON.stringify(enriched(`${run}-surrogate`, { search_keyword: 'fan \ud800', page_title: '\udfff x' }))),
  },
  {
    name: 'lone surrogate as CESU-8 bytes',
    id: `${run}-cesu`,
    value: Buffer.concat([
      Buffer.from(JSON.stringify(enriched(`${run}-cesu`, { search_keyword: 'fan ' })).slice(0, -1)),
      Buffer.from(',"page_title":"'),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from('"}'),
    ]),
  },
  {
    name: '__proto__ and constructor.prototype keys',
    id: `${run}-proto`,
    value: Buffer.from(
      JSON.stringify(enriched(`${run}-proto`, { search_keyword: 'espresso' })).replace(
        /^\{/,
        '{"__proto__":{"polluted":"yes","is_bot":true},"constructor":{"prototype":{"polluted":"yes"}},',
      ),
    ),
  },
];

beforeAll(async () => {
  app = await startTestApp({ RATE_LIMIT_IP_REQUESTS_PER_S: '0', BASE_URL: '' });
  const kafka = new Kafka({ clientId: 'fault-poison', brokers: TEST_BROKERS, logLevel: logLevel.NOTHING });
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  if (app) {
    saveOutput('poison', app.output());
    await app.stop({ keepData: true });
    await cleanup(app.prefix, app.dataDir);
  }
});

describe('poison messages written straight into a topic', () => {
  it('dead-letters each one with its reason from both processors, and the partition keeps moving', async () => {
    const topic = topicName(app.prefix, 'searches');
    const good = Array.from({ length: 20 }, (_, i) =>
      enriched(`${run}-good-${i}`, {
        timestamp: Date.now() - 50_000 + i * 1000,
        date: Date.now() - 50_000 + i * 1000,
        search_keyword: i % 2 ? 'humidifier' : 'tower fan',
      }),
    );
    // Poison first, then good events, all on partition 0 in this order.
    const sent = await producer.send({
      topic,
      acks: -1,
      messages: [
        ...POISON.map((p) => ({ key: visitor, value: p.value, partition: 0 })),
        ...ODD.map((p) => ({ key: visitor, value: p.value, partition: 0 })),
        ...good.map((e) => ({ key: visitor, value: JSON.stringify(e), partition: 0 })),
      ],
    });
    const base = BigInt(sent[0]!.baseOffset!);
    const poisonOffsets = POISON.map((_, i) => String(base + BigInt(i)));
    // The ledger holds the good events as acknowledged: they reached Kafka with acks=all.
    for (const e of good) ledger.add({ ...e, timestamp: e.date } as never, visitor).status = 'acked';
    // And some traffic through ingest on the same visitor and topic.
    const viaIngest = Array.from({ length: 10 }, () => ledger.add(factory.make(visitor), visitor));
    await sendBatch(ledger, viaIngest, { baseUrl: app.baseUrl });
    expect(viaIngest.every((e) => e.status === 'acked')).toBe(true);

    const letters = await consumeUntil(
      app.prefix,
      [DEAD_LETTER_TOPIC],
      (msgs) => {
        const dl = msgs.map((m) => JSON.parse(m.value) as DeadLetter).filter((d) => d.origin?.topic === topic);
        const has = (src: string, off: string) => dl.some((d) => d.source === src && d.origin?.offset === off);
        return poisonOffsets.every((o) => has('promotions', o) && has('analytics', o)) ? dl : undefined;
      },
      60_000,
    );
    for (const d of letters) {
      expect(d.reason.length).toBeGreaterThan(5);
      expect(d.code.length).toBeGreaterThan(0);
    }

    const lag = await waitLagZero(TEST_BROKERS, app.prefix, 60_000);
    expect(lag).toMatchObject({ promotions: 0, analytics: 0 });
    expect(app.child.exitCode).toBeNull();

    // Redis: the visitor's interests are the model fold over the good events only (the odd ones are checked below).
    const oddIds = new Set(ODD.map((o) => o.id));
    const oddLetters = letters.filter(
      (d) =>
        d.origin &&
        BigInt(d.origin.offset) >= base + BigInt(POISON.length) &&
        BigInt(d.origin.offset) < base + BigInt(POISON.length + ODD.length),
    );
    const promoted = new Map<string, boolean>();
    ODD.forEach((o, i) =>
      promoted.set(
        o.id,
        !oddLetters.some((d) => d.source === 'promotions' && d.origin!.offset === String(base + BigInt(POISON.length + i))),
      ),
    );
    for (const o of ODD) {
      // Handled like an ordinary event: it belongs in the model too.
      if (promoted.get(o.id)) {
        const parsed = JSON.parse(o.value.toString('utf8')) as EnrichedEvent;
        ledger.add({ ...parsed, timestamp: parsed.date } as never, visitor).status = 'acked';
      }
    }
    const red = await checkRedis(app.redisUrl, app.prefix, ledger);
    expect(red.mismatches).toEqual([]);

    await app.stop({ keepData: true });
    const wh = await checkWarehouse(app.dataDir, ledger);
    const analyticsDead = ODD.filter((o, i) =>
      letters.some((d) => d.source === 'analytics' && d.origin!.offset === String(base + BigInt(POISON.length + i))),
    ).map((o) => o.id);
    // Good events: once each. Odd ones: stored once or dead-lettered, never both, never lost.
    expect(wh.missing.filter((id) => !oddIds.has(id) || !analyticsDead.includes(id))).toEqual([]);
    expect(wh.duplicates).toEqual([]);
    record('9-poison', {
      poison_messages: POISON.length,
      dead_letters_promotions: letters.filter((d) => d.source === 'promotions').length,
      dead_letters_analytics: letters.filter((d) => d.source === 'analytics').length,
      reasons: [...new Set(letters.map((d) => `${d.source}:${d.code}`))],
      odd_handled_as_events_by_promotions: ODD.filter((o) => promoted.get(o.id)).map((o) => o.name),
      odd_dead_lettered_by_analytics: ODD.filter((o) => analyticsDead.includes(o.id)).map((o) => o.name),
      good_events: good.length + viaIngest.length,
      found: wh.found,
      duplicates: wh.duplicates.length,
      lag_zero_ms: lag.ms,
      redis_equal_model: `${red.equal}/${red.visitors}`,
    });
  });
});
