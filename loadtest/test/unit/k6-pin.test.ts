import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { K6_MODULE, K6_VERSION, ROOT } from '../../src/k6.ts';

describe('the k6 pin', () => {
  it('builds the same k6 version the runner names, from a v2 module pinned in go.mod', () => {
    const gomod = fs.readFileSync(path.join(ROOT, 'loadtest/k6build/go.mod'), 'utf8');
    expect(K6_MODULE).toBe('go.k6.io/k6/v2');
    expect(gomod).toMatch(new RegExp(`\\n\\s*${K6_MODULE.replace(/\./g, '\\.')} ${K6_VERSION.replace(/\./g, '\\.')}\\n`));
    const sum = fs.readFileSync(path.join(ROOT, 'loadtest/k6build/go.sum'), 'utf8');
    expect(sum).toContain(`${K6_MODULE} ${K6_VERSION} h1:`);
  });
});
