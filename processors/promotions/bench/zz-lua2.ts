import { Redis } from 'ioredis';
const r = new Redis();
const fields: string[] = ['_ref', String(Date.now()), '_v', '5'];
for (let i = 0; i < 20; i++) fields.push(`s:term${i}`, String(Math.random() * 10), `r:term${i}`, `00${Date.now()}|search|term ${i}`);
await r.del('zl2:{x}'); await r.hset('zl2:{x}', ...fields);
const variants: Record<string, string> = {
  empty: `return 1`,
  hgetall: `local f = redis.call('HGETALL', KEYS[1]) return 1`,
  parse: `local flat = redis.call('HGETALL', KEYS[1]) local s = {} for i = 1, #flat, 2 do local f = flat[i] local k = string.sub(f,1,2) if k == 's:' then s[string.sub(f,3)] = tonumber(flat[i+1]) end end return 1`,
  format: `local out = {} for i = 1, 20 do out[#out+1] = string.format('%.17g', i * 1.2345678901234) end return 1`,
  rewrite: `local flat = redis.call('HGETALL', KEYS[1]) redis.call('DEL', KEYS[1]) redis.call('HSET', KEYS[1], unpack(flat)) return 1`,
  sort: `local t = {} for i = 1, 20 do t[i] = math.random() end table.sort(t, function(a, b) return a > b end) return 1`,
  closures: `local function a() end local function b() end local function c() end local function d() end local function e() end return 1`,
};
for (const [name, body] of Object.entries(variants)) {
  const sha = (await r.script('LOAD', body)) as string;
  await r.config('RESETSTAT');
  const p = r.pipeline();
  for (let i = 0; i < 3000; i++) p.evalsha(sha, 1, 'zl2:{x}');
  await p.exec();
  const stats = (await r.info('commandstats')).split('\n').find((l) => l.startsWith('cmdstat_evalsha'));
  console.log(name.padEnd(10), /usec_per_call=([\d.]+)/.exec(stats ?? '')?.[1]);
}
await r.del('zl2:{x}');
r.disconnect();
