/** A small SVG line chart (x: achieved events/s, y: p99 ms) for BENCHMARKS.md. */
export interface Series {
  name: string;
  points: [number, number][];
}

const COLORS = ['#2563eb', '#9ca3af', '#dc2626', '#16a34a'];

export function renderChart(series: Series[], opts: { title: string; yMax?: number; targetY?: number }): string {
  const W = 720;
  const H = 400;
  const m = { l: 60, r: 20, t: 40, b: 70 };
  const xs = series.flatMap((s) => s.points.map((p) => p[0])).filter(Number.isFinite);
  const xMax = Math.max(1, ...xs) * 1.05;
  const yMax = opts.yMax ?? Math.max(1, ...series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite)) * 1.1;
  const X = (x: number) => m.l + (x / xMax) * (W - m.l - m.r);
  const Y = (y: number) => H - m.b - (Math.min(y, yMax) / yMax) * (H - m.t - m.b);
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(opts.title)}</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#333"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#333"/>`,
    `<text x="${(W + m.l) / 2}" y="${H - m.b + 35}" text-anchor="middle">achieved events/s</text>`,
    `<text x="16" y="${(H - m.b + m.t) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(H - m.b + m.t) / 2})">p99 latency (ms)</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const xv = (xMax / 5) * i;
    const yv = (yMax / 5) * i;
    parts.push(`<text x="${X(xv)}" y="${H - m.b + 16}" text-anchor="middle">${Math.round(xv).toLocaleString('en-US')}</text>`);
    parts.push(`<text x="${m.l - 6}" y="${Y(yv) + 4}" text-anchor="end">${Math.round(yv)}</text>`);
    parts.push(`<line x1="${m.l}" y1="${Y(yv)}" x2="${W - m.r}" y2="${Y(yv)}" stroke="#eee"/>`);
  }
  if (opts.targetY !== undefined) {
    parts.push(
      `<line x1="${m.l}" y1="${Y(opts.targetY)}" x2="${W - m.r}" y2="${Y(opts.targetY)}" stroke="#f59e0b" stroke-dasharray="6 4"/>`,
    );
    parts.push(`<text x="${W - m.r}" y="${Y(opts.targetY) - 4}" text-anchor="end" fill="#b45309">p99 target ${opts.targetY} ms</text>`);
  }
  series.forEach((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]));
    const color = COLORS[i % COLORS.length];
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' ')}"/>`,
    );
    for (const p of pts) parts.push(`<circle cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}" r="3" fill="${color}"/>`);
    parts.push(`<rect x="${m.l + 10 + i * 300}" y="${H - 22}" width="12" height="12" fill="${color}"/>`);
    parts.push(`<text x="${m.l + 28 + i * 300}" y="${H - 12}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
