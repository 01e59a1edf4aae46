// Every scenario ends with a JSON summary (for `npm run bench` and CI) and a
// short human table on stdout.
function fmt(n) {
  if (n === undefined || n === null || Number.isNaN(n)) return '-';
  return Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(2);
}

export function table(data) {
  const m = data.metrics;
  const rows = [];
  const add = (label, value) => rows.push(`  ${label.padEnd(34)} ${value}`);
  const dur = (data.state && data.state.testRunDurationMs) || 0;
  if (m.http_reqs) add('requests', `${m.http_reqs.values.count} (${fmt(m.http_reqs.values.rate)}/s)`);
  if (m.events_sent) add('events sent', `${m.events_sent.values.count} (${fmt(m.events_sent.values.rate)}/s)`);
  if (m.http_req_duration) {
    const d = m.http_req_duration.values;
    add('latency ms p50 / p95 / p99 / max', `${fmt(d.med)} / ${fmt(d['p(95)'])} / ${fmt(d['p(99)'])} / ${fmt(d.max)}`);
  }
  if (m.http_req_failed) add('failed requests', `${fmt(m.http_req_failed.values.rate * 100)} %`);
  if (m.dropped_iterations) add('dropped iterations', `${m.dropped_iterations.values.count}`);
  for (const name of ['freshness_ms', 'homepage_known_ms', 'homepage_unknown_ms', 'app_rss_mb', 'consumer_lag']) {
    if (m[name]) {
      const d = m[name].values;
      add(`${name} p50 / p95 / p99 / max`, `${fmt(d.med)} / ${fmt(d['p(95)'])} / ${fmt(d['p(99)'])} / ${fmt(d.max)}`);
    }
  }
  const failed = Object.entries(m)
    .filter(([, v]) => v.thresholds && Object.values(v.thresholds).some((t) => !t.ok))
    .map(([k]) => k);
  add('thresholds', failed.length ? `FAILED: ${failed.join(', ')}` : 'all passed');
  return `\n${__ENV.SCENARIO || 'scenario'} (${fmt(dur / 1000)} s)\n${rows.join('\n')}\n`;
}

export function summarize(data) {
  const out = { stdout: table(data) };
  if (__ENV.SUMMARY_PATH) out[__ENV.SUMMARY_PATH] = JSON.stringify(data, null, 2);
  return out;
}
