/**
 * The checker: compares what the ledger says was acknowledged with what the
 * real parts hold afterwards.
 *
 * - ClickHouse: every acknowledged event_id is in activity.events exactly once
 *   (count() without FINAL); no rejected event is there. The embedded engine
 *   opens a data directory in one process only, so the app is stopped first
 *   (its DATA_DIR kept) and the directory is opened here.
 *   Limit: activity.events is a ReplacingMergeTree, so a duplicate that a
 *   background merge already collapsed is no longer visible to count().
 *   The Redis check below has no such blind spot: a double-applied event
 *   raises the profile version and the score.
 * - Redis: each visitor's interests hash equals the promotions package's own
 *   pure fold (processors/promotions/src/profile.ts applyContributions over
 *   signals.ts extractSignal, with the shipped catalog and default weights)
 *   over that visitor's acknowledged events: same version (= number of applied
 *   events), same terms, same scores (relative 1e-3: the model uses the client
 *   timestamp, the processor the skew-corrected date; the smallest weight of
 *   one event, a scroll, is above 1% of the scores here, so a double count
 *   still shows), same
 *   newest reason per term; rejected events are in no applied set.
 * - Kafka: both consumer groups' committed offsets reach the end of every
 *   activity partition within a bound (lag 0).
 */
import fs from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { Redis } from 'ioredis';
import { ACTIVITY_TOPICS, CONSUMER_GROUPS, groupId, redisKeys, topicName, type WireEvent } from '@storepulse/contracts';
import { createWarehouseClient } from '@storepulse/warehouse';
import { loadPromotionsConfig } from '../../processors/promotions/src/config.ts';
import { parseCatalog, type Catalog } from '../../processors/promotions/src/catalog.ts';
import { applyContributions, decay, emptyProfile, profileFromHash, type Profile } from '../../processors/promotions/src/profile.ts';
import { extractSignal, type ValidEvent } from '../../processors/promotions/src/signals.ts';
import type { Ledger } from './ledger.ts';
import { sleep } from './services.ts';

export interface WarehouseResult {
  rows: number;
  acked: number;
  found: number;
  missing: string[];
  duplicates: Array<{ event_id: string; n: number }>;
  rejectedFound: string[];
  /** Events that ended 'failed' (outcome unknown to the client) and are stored, once each. */
  failedFound: number;
  /** Distinct event_ids stored. */
  distinct: number;
  /**
   * Rows the inserts put into activity.events, as the `traffic` rollup counted them (one per
   * inserted row, summed; merges never collapse it). A batch written twice shows here even when a
   * background merge of the ReplacingMergeTree already hid the copy from count(); an event_id that
   * reached Kafka twice and met the processor in two process lives does too (its documented limit).
   */
  rollupTraffic: number;
}

/** Reads activity.events of a stopped app's DATA_DIR. Call once per test file (one chDB path per process). */
export async function checkWarehouse(dataDir: string, ledger: Ledger): Promise<WarehouseResult> {
  const wh = createWarehouseClient({ dataDir });
  try {
    const rs = await wh.client.query({
      query: 'SELECT event_id, count() AS n FROM activity.events GROUP BY event_id',
      format: 'JSONEachRow',
    });
    const rows = (await rs.json()) as Array<{ event_id: string; n: number | string }>;
    const counts = new Map(rows.map((r) => [r.event_id, Number(r.n)]));
    const traffic = await wh.client.query({
      query: "SELECT sum(events) AS n FROM activity.rollups WHERE metric = 'traffic'",
      format: 'JSONEachRow',
    });
    const [t] = (await traffic.json()) as Array<{ n: number | string }>;
    const res: WarehouseResult = {
      rows: 0,
      acked: 0,
      found: 0,
      missing: [],
      duplicates: [],
      rejectedFound: [],
      failedFound: 0,
      distinct: counts.size,
      rollupTraffic: Number(t?.n ?? 0),
    };
    for (const n of counts.values()) res.rows += n;
    for (const [id, n] of counts) if (n > 1) res.duplicates.push({ event_id: id, n });
    for (const [id, e] of ledger.entries) {
      const n = counts.get(id) ?? 0;
      if (e.status === 'acked') {
        res.acked++;
        if (n === 0) res.missing.push(id);
        else res.found++;
      } else if (e.status === 'rejected' && n > 0) res.rejectedFound.push(id);
      else if (e.status === 'failed' && n > 0) res.failedFound++;
    }
    return res;
  } finally {
    await wh.close();
  }
}

let catalog: Catalog | undefined;
const promoConfig = loadPromotionsConfig({});

function modelCatalog(): Catalog {
  catalog ??= parseCatalog(fs.readFileSync(promoConfig.catalogPath, 'utf8'), promoConfig.catalogPath);
  return catalog;
}

/** What ingest makes of a wire event, for the fields the fold reads (date = client timestamp: the SDK sends sent_at = now). */
function asEnriched(e: WireEvent): ValidEvent {
  const pagePath = e.page_url && e.page_url.startsWith('/') ? e.page_url.split(/[?#]/)[0] : undefined;
  return {
    ...e,
    date: e.timestamp,
    received_at: e.timestamp,
    user_id: null,
    user_verified: false,
    context: { is_bot: false },
    ...(pagePath ? { page_path: pagePath } : {}),
  } as unknown as ValidEvent;
}

/** The pure model: the promotions fold over a visitor's acknowledged events. */
export function modelProfile(events: WireEvent[]): Profile {
  const cat = modelCatalog();
  let p = emptyProfile();
  const signals = events
    .map((e) => extractSignal(asEnriched(e), cat.index, promoConfig.weights, promoConfig.maxFutureMs))
    .filter((s) => s.contributions.length > 0);
  signals.sort((a, b) => a.date - b.date);
  for (const s of signals)
    p = applyContributions(p, Math.floor(s.date), s.contributions, { halfLifeMs: promoConfig.halfLifeMs, topTerms: promoConfig.topTerms });
  return p;
}

const reasonText = (r: string | undefined) => (r ?? '').split('|').slice(1).join('|');

/** Differences between two profiles; empty when equal within the tolerance. */
export function compareProfiles(want: Profile, got: Profile, relTol = 1e-3): string[] {
  const out: string[] = [];
  if (want.version !== got.version) out.push(`version ${got.version}, model ${want.version}`);
  // Stored scores are relative to the profile's base time (its `base`, or `ref`
  // in the older layout); compare both as of the later newest-event date.
  const at = Math.max(want.ref, got.ref);
  const baseOf = (p: Profile) => (p as Profile & { base?: number }).base || p.ref;
  const kw = decay(promoConfig.halfLifeMs, at - baseOf(want));
  const kg = decay(promoConfig.halfLifeMs, at - baseOf(got));
  const terms = new Set([...want.scores.keys(), ...got.scores.keys()]);
  for (const t of terms) {
    const w0 = want.scores.get(t);
    const g0 = got.scores.get(t);
    const w = w0 === undefined ? undefined : w0 * kw;
    const g = g0 === undefined ? undefined : g0 * kg;
    if (w === undefined || g === undefined) {
      out.push(`term ${t}: redis ${g}, model ${w}`);
      continue;
    }
    if (Math.abs(w - g) > relTol * Math.max(Math.abs(w), 1e-9))
      out.push(`term ${t}: score ${g}, model ${w} (ref ${got.ref}, model ref ${want.ref})`);
    if (reasonText(want.reasons.get(t)) !== reasonText(got.reasons.get(t)))
      out.push(`term ${t}: reason ${got.reasons.get(t)}, model ${want.reasons.get(t)}`);
  }
  return out;
}

export interface RedisResult {
  visitors: number;
  /** Visitors whose interests equal the model. */
  equal: number;
  mismatches: Array<{ visitor: string; diff: string[] }>;
  /** Sum of profile versions = events applied (each at most once). */
  appliedEvents: number;
  modelEvents: number;
  rejectedApplied: string[];
}

/** Compares every visitor of the ledger with the model; `keyspace` is TOPIC_PREFIX (+ generation). */
export async function checkRedis(redisUrl: string, keyspace: string, ledger: Ledger): Promise<RedisResult> {
  const r = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  try {
    const acked = ledger.ackedByVisitor();
    const visitors = new Set([...ledger.entries.values()].map((e) => e.visitor));
    const res: RedisResult = { visitors: visitors.size, equal: 0, mismatches: [], appliedEvents: 0, modelEvents: 0, rejectedApplied: [] };
    for (const v of visitors) {
      const key = `a:${v}`;
      const got = profileFromHash(await r.hgetall(redisKeys.interests(keyspace, key)));
      const want = modelProfile(acked.get(v) ?? []);
      res.appliedEvents += got.version;
      res.modelEvents += want.version;
      const diff = compareProfiles(want, got);
      if (diff.length === 0) res.equal++;
      else res.mismatches.push({ visitor: v, diff: diff.slice(0, 5) });
    }
    // Pipelined: a flood scenario rejects hundreds of thousands of events.
    const rejected = [...ledger.entries].filter(([, e]) => e.status === 'rejected');
    for (let i = 0; i < rejected.length; i += 2000) {
      const slice = rejected.slice(i, i + 2000);
      const p = r.pipeline();
      for (const [id, e] of slice) p.zscore(redisKeys.appliedEvents(keyspace, `a:${e.visitor}`), id);
      const got = (await p.exec()) ?? [];
      slice.forEach(([id], j) => {
        const [err, score] = got[j] ?? [null, null];
        if (err) throw err;
        if (score !== null) res.rejectedApplied.push(id);
      });
    }
    return res;
  } finally {
    r.disconnect();
  }
}

export interface LagResult {
  promotions: number;
  analytics: number;
  ms: number;
}

async function lagOnce(kafka: Kafka, prefix: string): Promise<{ promotions: number; analytics: number }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = ACTIVITY_TOPICS.map((t) => topicName(prefix, t));
    const ends = new Map<string, bigint>();
    for (const t of topics) for (const p of await admin.fetchTopicOffsets(t)) ends.set(`${t}/${p.partition}`, BigInt(p.high));
    const lagOf = async (group: string) => {
      let lag = 0n;
      const committed = await admin.fetchOffsets({ groupId: groupId(prefix, group), topics });
      const seen = new Map<string, bigint>();
      for (const t of committed)
        for (const p of t.partitions) seen.set(`${t.topic}/${p.partition}`, BigInt(p.offset === '-1' ? '0' : p.offset));
      for (const [k, end] of ends) lag += end - (seen.get(k) ?? 0n);
      return Number(lag);
    };
    return { promotions: await lagOf(CONSUMER_GROUPS.promotions), analytics: await lagOf(CONSUMER_GROUPS.analytics) };
  } finally {
    await admin.disconnect();
  }
}

/**
 * Polls until both consumer groups have committed every activity message, or
 * the bound passes. `onStall` (the watchdog) is called when the lag stays
 * above 0 and unchanged for `stallMs` (45 s: longer than the 30 s session timeout a restart may wait for); `stalls` counts the calls.
 */
export async function waitLagZero(
  brokers: string[],
  prefix: string,
  boundMs: number,
  watchdog?: { onStall: () => void; stallMs?: number },
): Promise<LagResult & { stalls: number }> {
  const kafka = new Kafka({ clientId: 'fault-checker', brokers, logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  const t0 = Date.now();
  let last = { promotions: -1, analytics: -1 };
  let since = Date.now();
  let stalls = 0;
  while (Date.now() - t0 < boundMs) {
    try {
      const now = await lagOnce(kafka, prefix);
      if (now.promotions === 0 && now.analytics === 0) {
        last = now;
        break;
      }
      if (now.promotions !== last.promotions || now.analytics !== last.analytics) since = Date.now();
      else if (watchdog && Date.now() - since > (watchdog.stallMs ?? 45_000)) {
        stalls++;
        watchdog.onStall();
        since = Date.now();
      }
      last = now;
    } catch {
      // broker still coming back
    }
    await sleep(500);
  }
  return { ...last, ms: Date.now() - t0, stalls };
}

/** Samples a process's RSS every 250 ms. */
export function rssSampler(read: () => number): { stop(): { min: number; max: number; samples: number[] }; mark(): number[] } {
  const samples: number[] = [];
  const t = setInterval(() => samples.push(read()), 250);
  return {
    mark: () => samples,
    stop() {
      clearInterval(t);
      const s = samples.filter((x) => x > 0);
      return { min: Math.min(...s), max: Math.max(...s), samples: s };
    },
  };
}
