// Homepage API reads for known visitors (seeded in setup with a search each)
// and unknown ones (random ids, served defaults). Target: p99 < 5 ms at
// 5,000 req/s.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Trend } from 'k6/metrics';
import { uuid, pick, KEYWORDS, JSON_HEADERS } from './lib/traffic.js';
export { summarize as handleSummary } from './lib/summary.js';

const BASE = __ENV.BASE_URL || 'http://localhost:3000';
const RATE = Number(__ENV.RATE_RPS || 5000);
const DURATION = __ENV.DURATION || '30s';
const KNOWN = Number(__ENV.KNOWN_VISITORS || 200);
const P99_MS = Number(__ENV.P99_MS || 5);
const known = new Trend('homepage_known_ms', true);
const unknown = new Trend('homepage_unknown_ms', true);

export const options = {
  scenarios: {
    reads: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: Math.min(300, Math.ceil(RATE / 50)),
      maxVUs: Math.min(1000, Math.ceil(RATE / 5)),
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.001'],
    http_req_duration: [`p(99)<${P99_MS}`],
    dropped_iterations: ['count<1'],
    checks: ['rate>0.999'],
  },
  summaryTrendStats: ['count', 'avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
};

export function setup() {
  const ids = [];
  const now = Date.now();
  for (let i = 0; i < KNOWN; i += 50) {
    const events = [];
    for (let j = i; j < Math.min(KNOWN, i + 50); j++) {
      const id = `a-${uuid()}`;
      ids.push(id);
      events.push({ event_id: uuid(), type: 'search', timestamp: now, anonymous_id: id, search_keyword: pick(KEYWORDS) });
    }
    http.post(`${BASE}/v1/batch`, JSON.stringify({ write_key: __ENV.WRITE_KEY || 'wk_demo', sent_at: now, events }), {
      headers: JSON_HEADERS,
    });
  }
  sleep(2); // let the promotions processor catch up before measuring reads
  return { ids };
}

export default function (data) {
  const isKnown = Math.random() < 0.5;
  const id = isKnown ? pick(data.ids) : `a-${uuid()}`;
  const res = http.get(`${BASE}/v1/promotions/${id}?limit=6`, { tags: { visitor: isKnown ? 'known' : 'unknown' } });
  check(res, { '200 with promotions': (r) => r.status === 200 && r.json('promotions.#') > 0 });
  (isKnown ? known : unknown).add(res.timings.duration);
}
