/**
 * Builds the SDK: dist/index.js (ESM) + dist/*.d.ts (typed), and
 * dist/sdk.iife.js (minified, one file, exposes window.storepulse) which the
 * ingest API serves at /sdk.js. Idempotent; run with
 *   node --import tsx tracker-sdk/scripts/build.ts
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = path.join(ROOT, 'dist');
export const IIFE_PATH = path.join(DIST, 'sdk.iife.js');
/** Browsers the bundle is written for: optional chaining, sendBeacon, fetch keepalive, passive listeners. */
const TARGET = ['es2020', 'chrome91', 'edge91', 'firefox90', 'safari15'];

export interface BuildResult {
  iifePath: string;
  iifeBytes: number;
  iifeGzipBytes: number;
  esmPath: string;
  types: boolean;
}

export async function buildSdk(options: { types?: boolean } = {}): Promise<BuildResult> {
  fs.mkdirSync(DIST, { recursive: true });
  const common = {
    bundle: true,
    target: TARGET,
    legalComments: 'none' as const,
    logLevel: 'warning' as const,
    // type imports only: contracts never reaches the bundle (checked below)
    external: ['@storepulse/contracts'],
  };
  const esm = path.join(DIST, 'index.js');
  const results = await Promise.all([
    build({
      ...common,
      entryPoints: [path.join(ROOT, 'src/iife.ts')],
      outfile: IIFE_PATH,
      format: 'iife',
      minify: true,
      charset: 'utf8',
      write: false,
    }),
    build({ ...common, entryPoints: [path.join(ROOT, 'src/index.ts')], outfile: esm, format: 'esm', sourcemap: true, write: false }),
  ]);
  for (const file of results.flatMap((r) => r.outputFiles)) {
    if (file.path.endsWith('.js') && file.text.includes('@storepulse/contracts')) {
      throw new Error(`${file.path} references @storepulse/contracts at runtime: import it with \`import type\` only`);
    }
    // write-then-rename: a server reading /sdk.js during a rebuild never sees half a file
    const tmp = `${file.path}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, file.contents);
    fs.renameSync(tmp, file.path);
  }
  let types = false;
  if (options.types !== false) types = emitTypes();
  const iife = fs.readFileSync(IIFE_PATH);
  return { iifePath: IIFE_PATH, iifeBytes: iife.length, iifeGzipBytes: gzipSync(iife, { level: 9 }).length, esmPath: esm, types };
}

/** Declarations via tsc, with `.ts` import specifiers rewritten to `.js` for consumers. */
function emitTypes(): boolean {
  const out = path.join(DIST, 'types');
  fs.rmSync(out, { recursive: true, force: true });
  const tsc = path.resolve(ROOT, '../node_modules/typescript/bin/tsc');
  execFileSync(
    process.execPath,
    [tsc, '-p', path.join(ROOT, 'tsconfig.json'), '--noEmit', 'false', '--declaration', '--emitDeclarationOnly', '--outDir', out],
    {
      stdio: 'inherit',
    },
  );
  const walk = (dir: string): string[] =>
    fs
      .readdirSync(dir, { withFileTypes: true })
      .flatMap((d) => (d.isDirectory() ? walk(path.join(dir, d.name)) : [path.join(dir, d.name)]));
  // tsc mirrors the common root of tracker-sdk/src and the contracts files it maps in
  const src = path.join(out, 'tracker-sdk', 'src');
  const contracts = path.join(src, 'contracts-types.js');
  for (const file of walk(out)) {
    if (!file.endsWith('.d.ts')) continue;
    let rel = path.relative(path.dirname(file), contracts).split(path.sep).join('/');
    if (!rel.startsWith('.')) rel = `./${rel}`;
    const text = fs
      .readFileSync(file, 'utf8')
      .replace(/(from\s+['"]\.{1,2}\/[^'"]+)\.ts(['"])/g, '$1.js$2')
      .replace(/(['"])@storepulse\/contracts\1/g, `'${rel}'`);
    fs.writeFileSync(file, text);
  }
  fs.writeFileSync(path.join(DIST, 'index.d.ts'), "export * from './types/tracker-sdk/src/index.js';\n");
  return true;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  buildSdk({ types: !process.argv.includes('--no-types') }).then(
    (r) =>
      console.log(
        `tracker-sdk: ${path.relative(process.cwd(), r.iifePath)} ${r.iifeBytes} B, ${r.iifeGzipBytes} B gzipped; ESM ${path.relative(process.cwd(), r.esmPath)}${r.types ? ' + types' : ''}`,
      ),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
