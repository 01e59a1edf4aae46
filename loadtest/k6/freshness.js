// The whole loop under load: background ingest at BACKGROUND_EPS events/s,
// while probe visitors search once and then poll their promotions until they
// turn personalized. freshness_ms = time from sending the search to seeing it
// in the homepage API. Threshold: p99 <= 250 ms at 10,000 events/s.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import { batch, rotatingVisitor, uuid, JSON_HEADERS } from './lib/traffic.js';
export { summarize as handleSummary } from './lib/summary.js';

const BASE = __ENV.BASE_URL || 'http://localhost:3000';
const PROBE_BASE = __ENV.PROBE_BASE_URL || BASE;
const BACKGROUND_EPS = Number(__ENV.BACKGROUND_EPS || 10000);
const BATCH = 10;
const DURATION = __ENV.DURATION || '30s';
const PROBES_PER_S = Number(__ENV.PROBES_PER_S || 20);
const P99_MS = Number(__ENV.P99_MS || 250);
const POLL_MS = Number(__ENV.POLL_MS || 5);
const GIVE_UP_MS = Number(__ENV.GIVE_UP_MS || 5000);
const freshness = new Trend('freshness_ms', true);
const events = new Counter('events_sent');
const lost = new Counter('probe_timeouts');

export const options = {
  scenarios: {
    background: {
      executor: 'constant-arrival-rate',
      rate: Math.max(1, Math.round(BACKGROUND_EPS / BATCH)),
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: 50,
      maxVUs: 400,
      exec: 'background',
    },
    probes: {
      executor: 'constant-arrival-rate',
      rate: PROBES_PER_S,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: 20,
      maxVUs: 200,
      exec: 'probe',
    },
  },
  thresholds: {
    freshness_ms: [`p(99)<=${P99_MS}`],
    probe_timeouts: ['count<1'],
    'http_req_failed{scenario:background}': ['rate<0.001'],
    'checks{scenario:probes}': ['rate>0.999'],
  },
  summaryTrendStats: ['count', 'avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
};

const nextVisitor = rotatingVisitor(5);

export function background() {
  const res = http.post(`${BASE}/v1/batch`, JSON.stringify(batch(nextVisitor(), BATCH, 0)), {
    headers: JSON_HEADERS,
    tags: { name: 'background' },
  });
  check(res, { 'background accepted': (r) => r.status === 202 });
  events.add(BATCH);
}

export function probe() {
  const id = `a-probe-${uuid()}`;
  const now = Date.now();
  const body = {
    write_key: __ENV.WRITE_KEY || 'wk_demo',
    sent_at: now,
    events: [
      {
        event_id: uuid(),
        type: 'search',
        timestamp: now,
        anonymous_id: id,
        session_id: `s-${id}`,
        page_url: '/search',
        search_keyword: 'humidifier',
      },
    ],
  };
  const start = Date.now();
  const res = http.post(`${PROBE_BASE}/v1/batch`, JSON.stringify(body), { headers: JSON_HEADERS, tags: { name: 'probe-search' } });
  if (!check(res, { 'probe search accepted': (r) => r.status === 202 })) return;
  while (Date.now() - start < GIVE_UP_MS) {
    const r = http.get(`${PROBE_BASE}/v1/promotions/${id}?limit=3`, { tags: { name: 'probe-poll' } });
    if (r.status === 200 && r.json('personalized') === true) {
      freshness.add(Date.now() - start);
      check(r, { 'humidifier deal first': (x) => /humidif/i.test(JSON.stringify(x.json('promotions.0'))) });
      return;
    }
    sleep(POLL_MS / 1000);
  }
  lost.add(1);
}
