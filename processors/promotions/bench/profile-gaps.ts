/**
 * Where a process's event-loop stalls went, from a V8 .cpuprofile (e.g. the
 * api-bench's PROFILE_OUT): the longest stretches of consecutive non-idle
 * samples with their top frames (JS work), and the largest gaps between
 * samples (the sampler thread itself not running: the process was off the
 * CPU).
 *
 *   node --import tsx bench/profile-gaps.ts <file.cpuprofile> [stretches=5] [gaps=8]
 */
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
if (!file) throw new Error('usage: profile-gaps.ts <file.cpuprofile> [stretches] [gaps]');
const nStretches = Number(process.argv[3] ?? 5);
const nGaps = Number(process.argv[4] ?? 8);
const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const frame = (id: number) => {
  const f = byId.get(id)!.callFrame;
  return `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber}`;
};
const stack = (id: number) => {
  const s: string[] = [];
  for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) s.push(frame(x));
  return s.reverse();
};
const at: number[] = [];
let t = p.startTime;
for (let i = 0; i < p.samples.length; i++) at.push((t += p.timeDeltas[i]!));
const sec = (us: number) => ((us - p.startTime) / 1e6).toFixed(3);

const stretches: [number, number][] = [];
let from = -1;
p.samples.forEach((id, i) => {
  const idle = byId.get(id)!.callFrame.functionName === '(idle)';
  if (!idle && from < 0) from = i;
  if (idle && from >= 0) {
    stretches.push([from, i - 1]);
    from = -1;
  }
});
const span = ([a, b]: [number, number]) => at[b]! - at[a]!;
stretches.sort((x, y) => span(y) - span(x));
for (const [a, b] of stretches.slice(0, nStretches)) {
  console.log(`busy ${(span([a, b]) / 1000).toFixed(1)} ms, ${b - a + 1} samples, at +${sec(at[a]!)} s`);
  const top = new Map<string, number>();
  for (let i = a; i <= b; i++) {
    const k = stack(p.samples[i]!).slice(-3).join(' < ');
    top.set(k, (top.get(k) ?? 0) + 1);
  }
  for (const [k, v] of [...top].sort((x, y) => y[1] - x[1]).slice(0, 5)) console.log(`  ${String(v).padStart(3)}  ${k}`);
}
const gaps = p.timeDeltas.map((d, i) => [d, i] as const).sort((x, y) => y[0] - x[0]);
console.log('largest gaps between samples:');
for (const [d, i] of gaps.slice(0, nGaps))
  console.log(`  ${(d / 1000).toFixed(1)} ms before +${sec(at[i]!)} s, then in ${frame(p.samples[i]!)}`);
