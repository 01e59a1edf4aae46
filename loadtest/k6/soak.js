// A long steady run (DURATION, default 10m) at RATE_EPS events/s, watching
// the app's RSS, the processors' consumer lag and the error rate.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import { batch, visitor, sdkBatchSize, JSON_HEADERS } from './lib/traffic.js';
import { scrape } from './lib/monitor.js';
export { summarize as handleSummary } from './lib/summary.js';

const BASE = __ENV.BASE_URL || 'http://localhost:3000';
const DURATION = __ENV.DURATION || '10m';
const RATE_EPS = Number(__ENV.RATE_EPS || 5000);
const MAX_RSS_MB = Number(__ENV.MAX_RSS_MB || 1024);
const MAX_LAG = Number(__ENV.MAX_LAG || 50000);
const rss = new Trend('app_rss_mb');
const lag = new Trend('consumer_lag');
const events = new Counter('events_sent');

export const options = {
  scenarios: {
    steady: {
      executor: 'constant-arrival-rate',
      rate: Math.max(1, Math.round(RATE_EPS / 7)), // mean SDK batch ~7 events
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: 50,
      maxVUs: 400,
      exec: 'steady',
    },
    monitor: { executor: 'constant-vus', vus: 1, duration: DURATION, exec: 'monitor' },
  },
  thresholds: {
    'http_req_failed{scenario:steady}': ['rate<0.001'],
    'checks{scenario:steady}': ['rate>0.999'],
    app_rss_mb: [`max<${MAX_RSS_MB}`],
    consumer_lag: [`p(95)<${MAX_LAG}`],
  },
  summaryTrendStats: ['count', 'avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
};

let v = visitor();
let left = 8;

export function steady() {
  if (--left <= 0) {
    v = visitor(); // visitors come and go
    left = 8;
  }
  const n = sdkBatchSize();
  const body = batch(v, n, 0.005);
  const res = http.post(`${BASE}/v1/batch`, JSON.stringify(body), { headers: JSON_HEADERS, tags: { name: 'batch' } });
  check(res, { accepted: (r) => r.status === 202 });
  events.add(n);
  if (Math.random() < 0.01) {
    // an SDK retry after a lost response: the same batch again, same event ids
    http.post(`${BASE}/v1/batch`, JSON.stringify(body), { headers: JSON_HEADERS, tags: { name: 'duplicate' } });
  }
}

export function monitor() {
  const m = scrape(BASE);
  if (m) {
    if (m.rssMb !== undefined) rss.add(m.rssMb);
    lag.add(m.lag);
  }
  sleep(5);
}
