import { gzipSync } from 'node:zlib';
import fs from 'node:fs';
import { expect, it } from 'vitest';
import { buildSdk } from '../../scripts/build.ts';

/** The budget the issue sets for what every shop page downloads. */
const BUDGET_GZIP_BYTES = 6 * 1024;

it('builds an IIFE bundle of at most 6 KB gzipped that holds no server code', async () => {
  const r = await buildSdk({ types: false });
  const code = fs.readFileSync(r.iifePath);
  const gz = gzipSync(code, { level: 9 }).length;
  console.log(`sdk.iife.js: ${code.length} B minified, ${gz} B gzipped (budget ${BUDGET_GZIP_BYTES} B)`);
  expect(gz).toBe(r.iifeGzipBytes);
  expect(gz).toBeLessThanOrEqual(BUDGET_GZIP_BYTES);
  const text = code.toString();
  expect(text).not.toMatch(/node:crypto|createHmac|require\(/);
  expect(text).toContain('storepulse');
}, 60_000);
