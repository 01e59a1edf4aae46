/**
 * Turns a V8 .cpuprofile (node --cpu-prof) of the ingest API into Markdown
 * tables: the time split by component, self time by function and by package.
 *
 *   node --import tsx bench/profile-summary.ts <file.cpuprofile> [--top 25] [--last-s 20] [--skip-s 0]
 *
 * --last-s keeps only the last N seconds of samples (the measured run of
 * bench/run.ts, after start-up and warm-up); --skip-s drops the first N.
 *
 * Components: each sample is charged to the innermost frame that belongs to
 * one (walking from the sampled frame towards the root). Node internals
 * (node:buffer, node:internal/...) and V8 builtins without a URL are
 * transparent, so a Buffer allocation made by kafkajs counts as kafkajs and
 * JSON.stringify called from batch.ts counts as record building; a sample
 * with no owning frame is charged to its innermost node: frame's area.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  parent?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Ordered: the first rule that matches a frame names its component. */
const COMPONENT_RULES: Array<[string, (f: CallFrame) => boolean]> = [
  ['GC', (f) => f.functionName === '(garbage collector)'],
  ['idle', (f) => f.functionName === '(idle)'],
  ['V8 / native, unattributed ((program))', (f) => f.functionName === '(program)'],
  ['kafkajs produce path', (f) => f.url.includes('/kafkajs/')],
  ['@platformatic/kafka produce path', (f) => f.url.includes('/@platformatic/')],
  [
    'validation (contracts/src/schema.ts: zod, and the fast path once added)',
    (f) => f.url.includes('/zod/') || f.url.includes('contracts/src/schema.ts'),
  ],
  ['JSON parse + sanitise (safe-json.ts)', (f) => f.url.includes('ingest-api/src/safe-json.ts')],
  ['enrichment (enrich.ts)', (f) => f.url.includes('ingest-api/src/enrich.ts') || f.url.includes('contracts/src/identity.ts')],
  ['record building: JSON.stringify + Buffer (batch.ts)', (f) => f.url.includes('ingest-api/src/batch.ts')],
  ['group-commit pipeline (producer.ts)', (f) => f.url.includes('ingest-api/src/producer.ts')],
  ['body reading (body.ts)', (f) => f.url.includes('ingest-api/src/body.ts')],
  ['rate limits (rate-limit.ts)', (f) => f.url.includes('ingest-api/src/rate-limit.ts')],
  ['metrics (prom-client)', (f) => f.url.includes('/prom-client/')],
  ['logging (pino)', (f) => f.url.includes('/pino') || f.url.includes('/sonic-boom/')],
  ['request handler (app.ts)', (f) => f.url.includes('ingest-api/src/app.ts')],
  [
    'express 5 + router',
    (f) => /\/(express|router|finalhandler|send|on-finished|parseurl|qs|body-parser|type-is|content-type)\//.test(f.url),
  ],
  [
    'module loading (tsx / esbuild / loader)',
    (f) => /\/(tsx|esbuild|get-tsconfig)\//.test(f.url) || f.url.includes('node:internal/modules'),
  ],
  ['ingest main / cluster (main.ts)', (f) => f.url.includes('ingest-api/src/main.ts')],
];

/** Area of a node: frame when no owning frame was found. */
function nodeArea(f: CallFrame): string | undefined {
  if (!f.url.startsWith('node:')) return undefined;
  if (/node:(_http|http|internal\/http|internal\/streams|stream|net|internal\/stream_base|internal\/net)/.test(f.url))
    return 'node http / net / streams';
  if (/node:(internal\/)?(timers|process\/task_queues)/.test(f.url)) return 'node timers / microtasks';
  return 'node other';
}

function transparent(f: CallFrame): boolean {
  return f.url === '' || f.url.startsWith('node:');
}

function packageOf(f: CallFrame): string {
  if (f.url === '') return f.functionName.startsWith('(') ? f.functionName : '(V8 builtin / native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f.url);
  if (nm) return nm[1]!;
  if (f.url.startsWith('node:')) return f.url.startsWith('node:internal') ? 'node:internal/*' : f.url;
  const ws = /\/work\/[^/]+\/([^/]+(?:\/[^/]+)?)\/src\//.exec(f.url) ?? /\/([^/]+)\/src\//.exec(f.url);
  return ws ? `${ws[1]} (ours)` : f.url;
}

function shortUrl(url: string): string {
  return url
    .replace(/^file:\/\//, '')
    .replace(/.*node_modules\//, '')
    .replace(/^\/work\/[^/]+\//, '');
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function pct(n: number, total: number): string {
  return `${((100 * n) / total).toFixed(1)} %`;
}

function table(rows: Array<[string, number]>, total: number, head: string, top: number): string {
  const lines = [`| ${head} | self ms | share |`, '|---|---:|---:|'];
  for (const [k, v] of rows.slice(0, top)) lines.push(`| ${k.replaceAll('|', '\\|')} | ${Math.round(v / 1000)} | ${pct(v, total)} |`);
  return lines.join('\n');
}

export function summarise(profile: CpuProfile, opts: { top: number; lastS?: number; skipS?: number }): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const n of profile.nodes) for (const c of n.children ?? []) byId.get(c)!.parent = n.id;
  // Sample i lasted timeDeltas[i + 1] (the delta to the next sample).
  const at: number[] = [];
  let t = profile.startTime;
  for (const d of profile.timeDeltas) at.push((t += d));
  const from = opts.lastS !== undefined ? profile.endTime - opts.lastS * 1e6 : profile.startTime + (opts.skipS ?? 0) * 1e6;

  const bySelf = new Map<string, number>();
  const byPackage = new Map<string, number>();
  const byComponent = new Map<string, number>();
  const componentOf = new Map<number, string>();
  let total = 0;
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    if (at[i]! < from) continue;
    const dt = (at[i + 1] ?? profile.endTime) - at[i]!;
    const node = byId.get(profile.samples[i]!)!;
    const f = node.callFrame;
    total += dt;
    if (f.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    const fk = `${f.functionName || '(anonymous)'} — ${shortUrl(f.url) || 'native'}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    bySelf.set(fk, (bySelf.get(fk) ?? 0) + dt);
    const pk = packageOf(f);
    byPackage.set(pk, (byPackage.get(pk) ?? 0) + dt);
    let comp = componentOf.get(node.id);
    if (comp === undefined) {
      let area: string | undefined;
      for (let cur: ProfileNode | undefined = node; cur; cur = cur.parent === undefined ? undefined : byId.get(cur.parent)) {
        const rule = COMPONENT_RULES.find(([, m]) => m(cur!.callFrame));
        if (rule) {
          comp = rule[0];
          break;
        }
        if (!transparent(cur.callFrame)) break;
        area ??= nodeArea(cur.callFrame);
      }
      comp ??= area ?? 'other';
      componentOf.set(node.id, comp);
    }
    byComponent.set(comp, (byComponent.get(comp) ?? 0) + dt);
  }
  const busy = total - idle;
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return [
    `Window: ${(total / 1e6).toFixed(1)} s of ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s profiled; busy ${(busy / 1e6).toFixed(1)} s (${pct(busy, total)}), idle ${(idle / 1e6).toFixed(1)} s. Shares below are of busy time.`,
    '',
    table(sorted(byComponent), busy, 'component (sample charged to its innermost owning frame)', 100),
    '',
    table(sorted(bySelf), busy, 'function (self time)', opts.top),
    '',
    table(sorted(byPackage), busy, 'package (self time)', opts.top),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('profile-summary.ts')) {
  const file = process.argv[2];
  if (!file || file.startsWith('--')) {
    process.stderr.write('usage: node --import tsx bench/profile-summary.ts <file.cpuprofile> [--top 25] [--last-s 20] [--skip-s 0]\n');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const lastS = arg('--last-s');
  const skipS = arg('--skip-s');
  console.log(
    summarise(profile, {
      top: Number(arg('--top') ?? 25),
      ...(lastS !== undefined ? { lastS: Number(lastS) } : {}),
      ...(skipS !== undefined ? { skipS: Number(skipS) } : {}),
    }),
  );
}
