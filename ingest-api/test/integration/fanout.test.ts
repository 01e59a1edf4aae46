import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_TYPES, TOPIC_BY_TYPE, signUserToken, topicName } from '@storepulse/contracts';
import { createTopics, deleteTopics, makeEvent, newPrefix, post, startCollector, startIngest, type RunningIngest } from './harness.ts';

const prefix = newPrefix();
let ingest: RunningIngest;
let collector: Awaited<ReturnType<typeof startCollector>>;

beforeAll(async () => {
  await createTopics(prefix);
  ingest = await startIngest(prefix);
  collector = await startCollector(prefix);
});

afterAll(async () => {
  await collector?.stop();
  await ingest?.close();
  await deleteTopics(prefix);
});

const byId = (id: unknown) =>
  collector.messages.find((m) => m.value.event_id === id || (m.value.payload as { event_id?: unknown } | undefined)?.event_id === id);

describe('POST /v1/batch fan-out (real Kafka)', () => {
  it.each(EVENT_TYPES.map((t) => [t]))('routes a %s event to its topic keyed by the visitor with an enriched value', async (type) => {
    const event = makeEvent(type);
    const sentAt = Date.now();
    const res = await post(
      ingest.url,
      { write_key: 'wk_demo', sent_at: sentAt, events: [event] },
      { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' },
    );
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ accepted: 1, rejected: [] });
    await collector.waitFor(() => byId(event.event_id) !== undefined);
    const m = byId(event.event_id)!;
    expect(m.topic).toBe(topicName(prefix, TOPIC_BY_TYPE[type]));
    expect(m.key).toBe((event.user_id as string | undefined) ?? event.anonymous_id);
    expect(m.value).toMatchObject({
      event_id: event.event_id,
      type,
      anonymous_id: event.anonymous_id,
      site: 'demo',
      page_url: event.page_url,
      page_path: '/deals/',
      sent_at: sentAt,
      user_verified: false,
      context: { is_bot: false, user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' },
    });
    expect(typeof m.value.received_at).toBe('number');
    // date = received_at - (sent_at - timestamp)
    expect(m.value.date).toBe((m.value.received_at as number) - (sentAt - (event.timestamp as number)));
    expect(m.value).toHaveProperty('user_id');
  });

  it('fans a mixed batch out to each type topic and keeps the classic {user_id, page_url, search_keyword, date} fields', async () => {
    const events = [
      makeEvent('search', { user_id: 'abcde@gmail.com', page_url: '/deals/' }),
      makeEvent('click'),
      makeEvent('scroll'),
      makeEvent('page_view'),
      makeEvent('search'),
    ];
    const res = await post(ingest.url, { write_key: 'wk_demo', sent_at: Date.now(), events });
    expect(res.status).toBe(202);
    expect(res.json.accepted).toBe(5);
    await collector.waitFor(() => events.every((e) => byId(e.event_id)));
    for (const e of events) expect(byId(e.event_id)!.topic).toBe(topicName(prefix, TOPIC_BY_TYPE[e.type as keyof typeof TOPIC_BY_TYPE]));
    const classic = byId(events[0]!.event_id)!;
    expect(classic.key).toBe('abcde@gmail.com');
    expect(classic.value).toMatchObject({ user_id: 'abcde@gmail.com', page_url: '/deals/', search_keyword: 'humidifier' });
    expect(typeof classic.value.date).toBe('number');
  });

  it('accepts the valid events of a batch and dead-letters the invalid one with its reason', async () => {
    const good1 = makeEvent('search');
    const bad = makeEvent('search', { search_keyword: 42 });
    const good2 = makeEvent('click');
    const res = await post(ingest.url, { events: [good1, bad, good2] }, { 'x-write-key': 'wk_demo' });
    expect(res.status).toBe(202);
    expect(res.json.accepted).toBe(2);
    expect(res.json.rejected).toEqual([{ index: 1, error: expect.stringContaining('search_keyword') }]);
    await collector.waitFor(() => [good1, bad, good2].every((e) => byId(e.event_id)));
    const dead = byId(bad.event_id)!;
    expect(dead.topic).toBe(topicName(prefix, 'invalid_events'));
    expect(dead.value).toMatchObject({ source: 'ingest', code: 'invalid_field', write_key: 'wk_demo', site: 'demo', payload: bad });
    expect(dead.value.reason).toContain('search_keyword');
    expect(typeof dead.value.received_at).toBe('number');
    expect(byId(good1.event_id)!.topic).toBe(topicName(prefix, 'searches'));
  });

  it('marks events user_verified only when the batch carries a valid user_token for their user_id', async () => {
    const proven = makeEvent('search', { user_id: 'proven@example.com' });
    const claimed = makeEvent('search', { user_id: 'victim@example.com' });
    const token = signUserToken('test-identity-secret', 'proven@example.com');
    const res = await post(ingest.url, { write_key: 'wk_demo', user_token: token, events: [proven, claimed] });
    expect(res.status).toBe(202);
    await collector.waitFor(() => byId(proven.event_id) !== undefined && byId(claimed.event_id) !== undefined);
    expect(byId(proven.event_id)!.value.user_verified).toBe(true);
    expect(byId(claimed.event_id)!.value.user_verified).toBe(false);
    expect(byId(claimed.event_id)!.value.user_id).toBe('victim@example.com');
  });

  it('corrects client clock skew and records a clamp for absurd timestamps', async () => {
    const skewed = makeEvent('page_view', { timestamp: 1_000_000_000_000 }); // client clock far in the past
    const ancient = makeEvent('page_view', { timestamp: 1_000 });
    const res = await post(ingest.url, { write_key: 'wk_demo', sent_at: 1_000_000_000_500, events: [skewed, ancient] });
    expect(res.status).toBe(202);
    await collector.waitFor(() => byId(skewed.event_id) !== undefined && byId(ancient.event_id) !== undefined);
    const s = byId(skewed.event_id)!.value;
    expect(s.date).toBe((s.received_at as number) - 500);
    expect(s.clock_clamped).toBeUndefined();
    const a = byId(ancient.event_id)!.value;
    expect(a.clock_clamped).toBe(true);
    expect(a.date).toBe((a.received_at as number) - 7 * 86_400_000);
  });

  it("keeps one visitor's events in order on one partition, within and across batches", async () => {
    const visitor = `visitor-${Date.now()}`;
    const sent: unknown[] = [];
    for (let b = 0; b < 5; b++) {
      const events = Array.from({ length: 20 }, () => makeEvent('page_view', { anonymous_id: visitor }));
      sent.push(...events.map((e) => e.event_id));
      expect((await post(ingest.url, { write_key: 'wk_demo', events })).status).toBe(202);
    }
    await collector.waitFor((ms) => ms.filter((m) => m.key === visitor).length >= sent.length);
    const got = collector.messages.filter((m) => m.key === visitor);
    expect(new Set(got.map((m) => m.partition)).size).toBe(1);
    expect(got.map((m) => m.value.event_id)).toEqual(sent);
  });

  it('loses nothing it acknowledged under many concurrent batches', async () => {
    const batches = Array.from({ length: 100 }, () =>
      Array.from({ length: 10 }, (_, i) => makeEvent(['search', 'click', 'page_view', 'scroll'][i % 4]!)),
    );
    const results = await Promise.all(batches.map((events) => post(ingest.url, { write_key: 'wk_demo', events })));
    const acked = results.flatMap((r, i) => (r.status === 202 ? batches[i]!.map((e) => e.event_id) : []));
    expect(acked.length).toBe(1000);
    await collector.waitFor(() => {
      const seen = new Set(collector.messages.map((m) => m.value.event_id));
      return acked.every((id) => seen.has(id));
    }, 20_000);
  });

  it('counts accepted and rejected events in its metrics', async () => {
    const text = await ingest.registry.metrics();
    expect(text).toMatch(/ingest_events_accepted_total\{type="search"\} \d+/);
    expect(text).toMatch(/ingest_events_rejected_total\{reason="invalid_field"\} 1/);
    expect(text).toMatch(/ingest_requests_total\{status="202"\} \d+/);
    expect(text).toMatch(/ingest_produce_duration_seconds_count\{outcome="ok"\} \d+/);
  });
});
