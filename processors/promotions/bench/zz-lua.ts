import { Redis } from 'ioredis';
import { APPLY_SCRIPT, PUBLISH_SCRIPT } from '../src/lua.ts';
import { encodeReason } from '../src/profile.ts';
const r = new Redis();
const sha = (await r.script('LOAD', APPLY_SCRIPT)) as string;
const terms = Array.from({ length: Number(process.argv[2] ?? 20) }, (_, i) => `term${i}`);
const now = Date.now();
async function run(label: string, n: number, fn: (i: number) => Array<string | number>) {
  await r.config('RESETSTAT');
  const p = r.pipeline();
  for (let i = 0; i < n; i++) p.evalsha(sha, 3, ...fn(i));
  await p.exec();
  const stats = (await r.info('commandstats')).split('\n').find((l) => l.startsWith('cmdstat_evalsha'));
  console.log(label, stats?.trim());
}
await run('new visitors (1 term)', 2000, (i) => [`zl:i:{v${i}}`, `zl:a:{v${i}}`, `zl:x:{v${i}}`, `e${i}`, now + i, 86400000, 20, 600000, 2000, now, 1, 'humidifier', '10', encodeReason(now, 'search', 'humidifier')]);
await run(`one visitor, ${terms.length} terms, newer dates`, 2000, (i) => [`zl:i:{big}`, `zl:a:{big}`, `zl:x:{big}`, `b${i}`, now + i, 86400000, 20, 600000, 2000, now, 1, terms[i % terms.length]!, '4', encodeReason(now + i, 'click', terms[i % terms.length]!)]);
let c = '0'; do { const [n, k] = await r.scan(c, 'MATCH', 'zl:*', 'COUNT', 5000); c = n; if (k.length) await r.unlink(...k); } while (c !== '0');
r.disconnect();
void PUBLISH_SCRIPT;
