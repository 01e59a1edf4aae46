// Ingest ramp: constant arrival rate in stages to find the sustained events/s
// at which p99 stays under 25 ms and errors under 0.1 %. Thresholds fail the
// run when missed, including dropped iterations (the generator could not keep
// the rate). Each request is a fixed 10-event batch so events/s = 10 x req/s.
import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';
import { batch, rotatingVisitor, JSON_HEADERS } from './lib/traffic.js';

const BASE = __ENV.BASE_URL || 'http://localhost:3000';
const BATCH = Number(__ENV.BATCH_EVENTS || 10);
const STAGE_S = Number(__ENV.STAGE_SECONDS || 20);
const RATES = (__ENV.RATES_RPS || '500,1000,2000,3000,4000,5000,6000').split(',').map(Number);
const events = new Counter('events_sent');

export const options = {
  discardResponseBodies: false,
  scenarios: Object.fromEntries(
    RATES.map((rate, i) => [
      `rps_${rate}`,
      {
        executor: 'constant-arrival-rate',
        rate,
        timeUnit: '1s',
        duration: `${STAGE_S}s`,
        startTime: `${i * STAGE_S}s`,
        preAllocatedVUs: Math.min(400, Math.ceil(rate / 20)),
        maxVUs: Math.min(800, Math.ceil(rate / 5)),
        tags: { stage: String(rate * BATCH) },
      },
    ]),
  ),
  thresholds: {
    http_req_failed: ['rate<0.001'],
    http_req_duration: ['p(99)<25'],
    dropped_iterations: ['count<1'],
    checks: ['rate>0.999'],
    // Per-stage submetrics (always-true thresholds make k6 keep them in the summary).
    ...Object.fromEntries(RATES.map((r) => [`http_req_duration{stage:${r * BATCH}}`, ['p(99)<1000000']])),
    ...Object.fromEntries(RATES.map((r) => [`http_req_failed{stage:${r * BATCH}}`, ['rate<=1']])),
    ...Object.fromEntries(RATES.map((r) => [`dropped_iterations{scenario:rps_${r}}`, ['count>=0']])),
    ...Object.fromEntries(RATES.map((r) => [`http_reqs{stage:${r * BATCH}}`, ['count>=0']])),
  },
  summaryTrendStats: ['count', 'avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
};

const nextVisitor = rotatingVisitor(5);

export default function () {
  const body = batch(nextVisitor(), BATCH, 0.01);
  const res = http.post(`${BASE}/v1/batch`, JSON.stringify(body), { headers: JSON_HEADERS });
  check(res, { 'accepted (202)': (r) => r.status === 202 });
  events.add(BATCH);
}
export { summarize as handleSummary } from './lib/summary.js';
