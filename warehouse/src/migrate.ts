import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import { WAREHOUSE_DATABASE } from '@storepulse/contracts';
import { MigrationError } from './errors.ts';
import { assertIdentifier, fillTemplate, splitStatements, withDatabase } from './sql.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));
const FILE_RE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export interface MigrationFile {
  version: number;
  name: string;
  file: string;
  sql: string;
  checksum: string;
}

export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
}

export interface MigrateOptions {
  /** Database to create and migrate; default `activity`. */
  database?: string | undefined;
  /** ClickHouse cluster name: adds ON CLUSTER and Replicated engines. Unset = single node. */
  onCluster?: string | undefined;
  /** TTL of raw events and rollups in days (default 395: 13 months, a year-over-year month). */
  eventsTtlDays?: number | undefined;
  /** Folder of numbered .sql files; default the package's migrations/. */
  dir?: string | undefined;
  logger?: { info(obj: object, msg?: string): void } | undefined;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
}

export const DEFAULT_EVENTS_TTL_DAYS = 395;

function checksum(sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex');
}

/** Reads the migration files and checks their numbering (pure apart from reading files). */
export function readMigrations(dir: string = MIGRATIONS_DIR): MigrationFile[] {
  const names = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  const files = names.map((file) => {
    const sql = fs.readFileSync(path.join(dir, file), 'utf8');
    return { file, sql };
  });
  return checkMigrationFiles(files);
}

/**
 * Numbered, contiguous, unique: 0001_x.sql, 0002_y.sql, ... A duplicate
 * number or a gap means two branches added migrations independently, which
 * must be resolved by a human before anything runs.
 */
export function checkMigrationFiles(files: { file: string; sql: string }[]): MigrationFile[] {
  const out: MigrationFile[] = [];
  const seen = new Map<number, string>();
  for (const { file, sql } of files) {
    const m = FILE_RE.exec(file);
    if (!m) {
      throw new MigrationError(`migration file ${file} is not named NNNN_lower_snake.sql; rename it`, { file });
    }
    const version = Number(m[1]);
    const dup = seen.get(version);
    if (dup) throw new MigrationError(`migrations ${dup} and ${file} share number ${m[1]}; renumber one of them`, { file });
    seen.set(version, file);
    out.push({ version, name: m[2]!, file, sql, checksum: checksum(sql) });
  }
  out.sort((a, b) => a.version - b.version);
  out.forEach((mig, i) => {
    if (mig.version !== i + 1) {
      throw new MigrationError(
        `migration ${mig.file} is out of order: expected number ${String(i + 1).padStart(4, '0')}; migrations are numbered 0001, 0002, ... without gaps`,
        { file: mig.file },
      );
    }
  });
  return out;
}

/**
 * Decides what to apply given what the database says it applied. Refuses an
 * edited migration (checksum changed), a recorded migration whose file is
 * gone, and a new file numbered below the last applied one.
 */
export function planMigrations(files: MigrationFile[], applied: AppliedMigration[]): MigrationFile[] {
  const byVersion = new Map(files.map((f) => [f.version, f]));
  let maxApplied = 0;
  for (const a of applied) {
    const f = byVersion.get(a.version);
    if (!f)
      throw new MigrationError(`the database records migration ${a.version} (${a.name}) but no file has that number; restore the file`);
    if (f.checksum !== a.checksum) {
      throw new MigrationError(
        `migration ${f.file} was edited after it was applied (checksum differs); migrations are frozen: revert it and add a new numbered file`,
        { file: f.file },
      );
    }
    maxApplied = Math.max(maxApplied, a.version);
  }
  const appliedSet = new Set(applied.map((a) => a.version));
  const pending = files.filter((f) => !appliedSet.has(f.version));
  const early = pending.find((f) => f.version < maxApplied);
  if (early) {
    throw new MigrationError(
      `migration ${early.file} is numbered below the last applied migration (${maxApplied}); renumber it after ${maxApplied}`,
      { file: early.file },
    );
  }
  return pending;
}

/** Applies pending migrations in order and records each one; applying twice is a no-op. */
export async function migrate(client: ClickHouseClient, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const database = assertIdentifier('database', opts.database ?? WAREHOUSE_DATABASE);
  const cluster = opts.onCluster ? assertIdentifier('cluster', opts.onCluster) : undefined;
  const ttlDays = opts.eventsTtlDays ?? DEFAULT_EVENTS_TTL_DAYS;
  if (!Number.isInteger(ttlDays) || ttlDays < 1)
    throw new MigrationError(`eventsTtlDays must be a whole number of days >= 1, got ${ttlDays}`);
  const files = readMigrations(opts.dir);
  const onCluster = cluster ? `ON CLUSTER ${cluster}` : '';
  const vars = { ON_CLUSTER: onCluster, REPLICATED: cluster ? 'Replicated' : '', EVENTS_TTL_DAYS: String(ttlDays) };

  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${database} ${onCluster}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${database}.schema_migrations ${onCluster}
      (version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
      ENGINE = ${vars.REPLICATED}MergeTree ORDER BY version`,
  });
  const rs = await client.query({
    query: `SELECT version, any(name) AS name, any(checksum) AS checksum FROM ${database}.schema_migrations GROUP BY version ORDER BY version`,
    format: 'JSONEachRow',
  });
  const applied = (await rs.json<{ version: number | string; name: string; checksum: string }>()).map((r) => ({
    ...r,
    version: Number(r.version),
  }));
  const pending = planMigrations(files, applied);

  for (const mig of pending) {
    const statements = splitStatements(withDatabase(fillTemplate(mig.sql, vars), database));
    for (const statement of statements) {
      try {
        await client.command({ query: statement });
      } catch (cause) {
        throw new MigrationError(`migration ${mig.file} failed: ${(cause as Error).message}`, { file: mig.file, cause });
      }
    }
    await client.insert({
      table: `${database}.schema_migrations`,
      values: [{ version: mig.version, name: mig.name, checksum: mig.checksum }],
      format: 'JSONEachRow',
    });
    opts.logger?.info({ migration: mig.file }, 'migration applied');
  }
  await ensureTtl(client, database, onCluster, ttlDays);
  return { applied: pending.map((m) => m.file), alreadyApplied: applied.map((a) => files.find((f) => f.version === a.version)!.file) };
}

const TTL_TABLES: Record<string, string> = {
  events: 'toDateTime(date)',
  rollups: 'bucket',
  search_clicks: 'toDateTime(date)',
  search_outcomes_hourly: 'hour',
};

/** A changed EVENTS_TTL_DAYS applies to existing tables; old parts pick it up at their next merge. */
async function ensureTtl(client: ClickHouseClient, database: string, onCluster: string, days: number): Promise<void> {
  const rs = await client.query({
    query: `SELECT name, create_table_query FROM system.tables WHERE database = {db:String}`,
    query_params: { db: database },
    format: 'JSONEachRow',
  });
  const tables = await rs.json<{ name: string; create_table_query: string }>();
  for (const t of tables) {
    const expr = TTL_TABLES[t.name];
    if (!expr) continue;
    if (t.create_table_query.includes(`toIntervalDay(${days})`)) continue;
    await client.command({
      query: `ALTER TABLE ${database}.${t.name} ${onCluster} MODIFY TTL ${expr} + INTERVAL ${days} DAY`,
      clickhouse_settings: { materialize_ttl_after_modify: 0 },
    });
  }
}
