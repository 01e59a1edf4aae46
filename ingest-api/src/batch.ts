import {
  DEAD_LETTER_TOPIC,
  messageKey,
  topicForType,
  topicName,
  validateWireEvent,
  type DeadLetter,
  type EventType,
} from '@storepulse/contracts';
import { enrichEvent, type RequestContext } from './enrich.ts';

/** One Kafka message to produce. */
export interface ProduceRecord {
  topic: string;
  key: string | null;
  /**
   * UTF-8 JSON. A Buffer, not a string: a string is measured with
   * Buffer.byteLength by us (byte budget) and twice by kafkajs before it is
   * copied; measured, that was the largest CPU item of a request (bench/RESULTS.md).
   */
  value: Buffer;
}

export interface Rejection {
  index: number;
  error: string;
}

export interface BatchOutcome {
  records: ProduceRecord[];
  accepted: number;
  rejected: Rejection[];
  acceptedByType: Map<EventType, number>;
  rejectedByCode: Map<string, number>;
}

// A dead letter keeps the original payload, but never more than this much of it.
const MAX_DEAD_LETTER_PAYLOAD_CHARS = 64 * 1024;

/**
 * Validates and enriches every event of a batch (pure). Valid events become
 * records on their activity topic keyed by user_id or anonymous_id; invalid
 * ones become dead letters on invalid_events with the reason, so nothing the
 * client sent is silently dropped.
 */
export function buildRecords(events: readonly unknown[], ctx: RequestContext, prefix: string, writeKey: string): BatchOutcome {
  const records: ProduceRecord[] = [];
  const rejected: Rejection[] = [];
  const acceptedByType = new Map<EventType, number>();
  const rejectedByCode = new Map<string, number>();
  const verifiedCache = new Map<string, boolean>();
  const deadTopic = topicName(prefix, DEAD_LETTER_TOPIC);
  for (let i = 0; i < events.length; i++) {
    const raw = events[i];
    const v = validateWireEvent(raw);
    if (v.ok) {
      const enriched = enrichEvent(v.event, ctx, verifiedCache);
      records.push({ topic: topicForType(prefix, v.event.type), key: messageKey(enriched), value: Buffer.from(JSON.stringify(enriched)) });
      acceptedByType.set(v.event.type, (acceptedByType.get(v.event.type) ?? 0) + 1);
      continue;
    }
    rejected.push({ index: i, error: v.reason });
    rejectedByCode.set(v.code, (rejectedByCode.get(v.code) ?? 0) + 1);
    const letter: DeadLetter = {
      reason: v.reason,
      code: v.code,
      source: 'ingest',
      received_at: ctx.receivedAt,
      write_key: writeKey,
      site: ctx.site,
      payload: capPayload(raw),
    };
    records.push({ topic: deadTopic, key: deadLetterKey(raw), value: Buffer.from(JSON.stringify(letter)) });
  }
  return { records, accepted: events.length - rejected.length, rejected, acceptedByType, rejectedByCode };
}

function deadLetterKey(raw: unknown): string | null {
  if (typeof raw === 'object' && raw !== null) {
    const r = raw as Record<string, unknown>;
    if (typeof r.user_id === 'string' && r.user_id) return r.user_id.slice(0, 256);
    if (typeof r.anonymous_id === 'string' && r.anonymous_id) return r.anonymous_id.slice(0, 256);
  }
  return null;
}

function capPayload(raw: unknown): unknown {
  const text = JSON.stringify(raw) ?? 'null';
  return text.length <= MAX_DEAD_LETTER_PAYLOAD_CHARS ? raw : { truncated: true, text: text.slice(0, MAX_DEAD_LETTER_PAYLOAD_CHARS) };
}
