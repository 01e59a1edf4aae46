// Reads the app's Prometheus /metrics: resident memory and consumer lag.
import http from 'k6/http';

export function scrape(base) {
  const res = http.get(`${base}/metrics`, { tags: { name: 'metrics' } });
  if (res.status !== 200) return undefined;
  let rss;
  let lag = 0;
  for (const line of String(res.body).split('\n')) {
    if (line.startsWith('#')) continue;
    if (line.startsWith('process_resident_memory_bytes ')) rss = Number(line.split(' ')[1]);
    else if (/^[a-z_]*consumer_lag[a-z_]*(\{| )/.test(line)) lag += Number(line.trim().split(' ').pop()) || 0;
  }
  return { rssMb: rss === undefined ? undefined : rss / 1048576, lag };
}
