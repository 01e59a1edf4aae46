import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findReport, REPORTS, reportSql, resolveParams } from '../../src/reports/catalog.ts';
import { ReportRequestError } from '../../src/errors.ts';
import { parseTime } from '../../src/reports/time.ts';

const NOW = Date.parse('2026-11-20T12:00:00Z');

describe('report time ranges', () => {
  it('reads relative times, now, epoch milliseconds and ISO dates', () => {
    expect(parseTime('15m', NOW)).toEqual({ ok: true, ms: NOW - 15 * 60_000 });
    expect(parseTime('24h', NOW)).toEqual({ ok: true, ms: NOW - 86_400_000 });
    expect(parseTime('7d', NOW)).toEqual({ ok: true, ms: NOW - 7 * 86_400_000 });
    expect(parseTime('now', NOW)).toEqual({ ok: true, ms: NOW });
    expect(parseTime(String(NOW), 0)).toEqual({ ok: true, ms: NOW });
    expect(parseTime('2026-11-20', NOW)).toEqual({ ok: true, ms: Date.parse('2026-11-20T00:00:00Z') });
    expect(parseTime('2026-11-20T10:30:00Z', NOW)).toEqual({ ok: true, ms: Date.parse('2026-11-20T10:30:00Z') });
    expect(parseTime('2026-11-20 10:30', NOW)).toEqual({ ok: true, ms: Date.parse('2026-11-20T10:30:00Z') });
    expect(parseTime('2026-11-20T10:30:00+02:00', NOW)).toEqual({ ok: true, ms: Date.parse('2026-11-20T08:30:00Z') });
  });

  it('refuses anything else with the expected form in the message', () => {
    for (const bad of ['yesterday', '15 m', '-1h', '2026-13-45', '1999-01-01', "1h' OR 1=1", '']) {
      const r = parseTime(bad, NOW);
      expect(r.ok, bad).toBe(false);
    }
  });
});

describe('report parameters', () => {
  it('defaults to the last 24 hours, all sites and 20 rows', () => {
    const p = resolveParams(findReport('top-searches'), {}, NOW);
    expect(p.query).toEqual({ since: '2026-11-19 12:00:00.000', until: '2026-11-20 12:00:00.000', site: '', limit: 20, keyword: '' });
  });

  it('picks the traffic interval from the range unless given', () => {
    const def = findReport('active-visitors');
    expect(resolveParams(def, { since: '1h' }, NOW).query.interval).toBe('minute');
    expect(resolveParams(def, { since: '2d' }, NOW).query.interval).toBe('hour');
    expect(resolveParams(def, { since: '30d' }, NOW).query.interval).toBe('day');
    expect(resolveParams(def, { since: '30d', interval: 'hour' }, NOW).query.interval).toBe('hour');
  });

  it('gives every parameter a report SQL names, and names only known parameters in SQL', () => {
    for (const def of REPORTS) {
      const used = new Set([...reportSql(def.name).matchAll(/\{(\w+):(\w+)/g)].map((m) => m[1]!));
      const given = new Set(Object.keys(resolveParams(def, {}, NOW).query));
      for (const u of used) expect(given.has(u), `${def.name} uses {${u}}`).toBe(true);
    }
  });

  it('passes any text filter through as a value or refuses it with a 400-class error, never anything else', () => {
    const def = findReport('top-searches');
    fc.assert(
      fc.property(
        fc.record(
          { site: fc.string({ maxLength: 200 }), keyword: fc.string({ maxLength: 300 }), limit: fc.string({ maxLength: 6 }) },
          { requiredKeys: [] },
        ),
        (input) => {
          try {
            const p = resolveParams(def, input, NOW);
            if (input.site !== undefined) expect(p.query.site).toBe(input.site);
            if (input.keyword !== undefined) expect(p.query.keyword).toBe(input.keyword);
          } catch (err) {
            expect(err).toBeInstanceOf(ReportRequestError);
          }
        },
      ),
    );
  });

  it('refuses an unknown report and names the available ones', () => {
    expect(() => findReport('drop-table')).toThrow(/unknown report "drop-table"; available: top-searches, content-gaps/);
  });
});
