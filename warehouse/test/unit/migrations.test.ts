import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkMigrationFiles, MIGRATIONS_DIR, planMigrations, readMigrations } from '../../src/migrate.ts';
import { MigrationError } from '../../src/errors.ts';
import { fillTemplate, splitStatements, withDatabase } from '../../src/sql.ts';

const f = (file: string, sql = 'SELECT 1') => ({ file, sql });

describe('migration files', () => {
  it('accepts the shipped migrations, numbered from 0001 without gaps', () => {
    const files = readMigrations();
    expect(files.map((m) => m.version)).toEqual(files.map((_, i) => i + 1));
    expect(files[0]!.file).toBe('0001_events.sql');
    expect(fs.readdirSync(MIGRATIONS_DIR).every((n) => /^\d{4}_[a-z0-9_]+\.sql$/.test(n))).toBe(true);
  });

  it('fails on two files with the same number', () => {
    expect(() => checkMigrationFiles([f('0001_a.sql'), f('0001_b.sql')])).toThrow(/share number 0001/);
  });

  it('fails on a gap in the numbers', () => {
    expect(() => checkMigrationFiles([f('0001_a.sql'), f('0003_c.sql')])).toThrow(/out of order: expected number 0002/);
  });

  it('fails on a badly named file', () => {
    expect(() => checkMigrationFiles([f('1_a.sql')])).toThrow(MigrationError);
    expect(() => checkMigrationFiles([f('0001_Events.sql')])).toThrow(/NNNN_lower_snake/);
  });

  it('plans nothing when everything is applied, and refuses edited or missing migrations', () => {
    const files = checkMigrationFiles([f('0001_a.sql', 'A'), f('0002_b.sql', 'B')]);
    const applied = files.map(({ version, name, checksum }) => ({ version, name, checksum }));
    expect(planMigrations(files, applied)).toEqual([]);
    expect(planMigrations(files, applied.slice(0, 1)).map((m) => m.file)).toEqual(['0002_b.sql']);
    expect(() => planMigrations(files, [{ ...applied[0]!, checksum: 'x' }])).toThrow(/was edited after it was applied/);
    expect(() => planMigrations(files.slice(0, 1), applied)).toThrow(/no file has that number/);
  });

  it('refuses a new file numbered below the last applied one', () => {
    const files = checkMigrationFiles([f('0001_a.sql', 'A'), f('0002_b.sql', 'B'), f('0003_c.sql', 'C')]);
    const applied = [files[0]!, files[2]!].map(({ version, name, checksum }) => ({ version, name, checksum }));
    expect(() => planMigrations(files, applied)).toThrow(/numbered below the last applied migration/);
  });
});

describe('SQL helpers', () => {
  it('splits statements on semicolons outside strings and comments', () => {
    const sql = "-- a; comment\nCREATE TABLE t (a String DEFAULT ';');\n/* x; y */ SELECT 'it''s; fine', \"q;\" ;\n\n";
    expect(splitStatements(sql)).toEqual(["CREATE TABLE t (a String DEFAULT ';')", "SELECT 'it''s; fine', \"q;\""]);
  });

  it('fills placeholders and refuses unknown ones', () => {
    expect(fillTemplate('CREATE DATABASE x {{ON_CLUSTER}}', { ON_CLUSTER: 'ON CLUSTER c' })).toBe('CREATE DATABASE x ON CLUSTER c');
    expect(() => fillTemplate('{{NOPE}}', {})).toThrow(/unknown placeholder/);
  });

  it('points the activity database at another name', () => {
    expect(withDatabase('CREATE DATABASE IF NOT EXISTS activity; SELECT * FROM activity.events', 'shop2')).toBe(
      'CREATE DATABASE IF NOT EXISTS shop2; SELECT * FROM shop2.events',
    );
  });
});
