import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { PLACEHOLDER_SDK, createSdkBundle } from '../../src/sdk-bundle.ts';

const dir = mkdtempSync(join(tmpdir(), 'sdk-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('createSdkBundle', () => {
  it('serves the placeholder until the bundle exists, then the bundle, and picks up changes', () => {
    const path = join(dir, 'sdk.iife.js');
    let now = 0;
    const bundle = createSdkBundle(path, pino({ level: 'silent' }), () => now);
    const first = bundle.get();
    expect(first.placeholder).toBe(true);
    expect(first.body.toString()).toBe(PLACEHOLDER_SDK);

    writeFileSync(path, 'window.storepulse={v:1};');
    expect(bundle.get().placeholder).toBe(true); // checked at most once a second
    now += 1000;
    const real = bundle.get();
    expect(real.placeholder).toBe(false);
    expect(real.body.toString()).toBe('window.storepulse={v:1};');

    writeFileSync(path, 'window.storepulse={v:2};');
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    now += 1000;
    const changed = bundle.get();
    expect(changed.body.toString()).toBe('window.storepulse={v:2};');
    expect(changed.etag).not.toBe(real.etag);
  });
});
