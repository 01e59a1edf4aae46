/**
 * Splits a SQL file into statements on `;`, ignoring semicolons inside
 * string literals, quoted identifiers and comments. Comments are dropped.
 */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let cur = '';
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i]!;
    const next = sql[i + 1];
    if (ch === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end;
      continue;
    }
    if (ch === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? sql.length : end + 2;
      cur += ' ';
      continue;
    }
    if (ch === "'" || ch === '"' || ch === '`') {
      let j = i + 1;
      while (j < sql.length) {
        const c = sql[j]!;
        if (c === '\\') {
          j += 2;
          continue;
        }
        if (c === ch) {
          if (sql[j + 1] === ch) {
            j += 2;
            continue;
          }
          break;
        }
        j++;
      }
      cur += sql.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (ch === ';') {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
      i++;
      continue;
    }
    cur += ch;
    i++;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** Placeholders a migration or report may use, filled from settings. */
export function fillTemplate(sql: string, vars: Record<string, string>): string {
  return sql.replace(/\{\{([A-Z_]+)\}\}/g, (m, key: string) => {
    const v = vars[key];
    if (v === undefined) throw new Error(`unknown placeholder ${m}`);
    return v;
  });
}

/** Points the fixed `activity.` database name at another database. */
export function withDatabase(sql: string, database: string): string {
  if (database === 'activity') return sql;
  return sql.replace(/\bactivity\./g, `${database}.`).replace(/DATABASE IF NOT EXISTS activity\b/g, `DATABASE IF NOT EXISTS ${database}`);
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
export function assertIdentifier(what: string, value: string): string {
  if (!IDENT.test(value)) throw new Error(`${what} must be a plain identifier ([A-Za-z_][A-Za-z0-9_]*), got ${JSON.stringify(value)}`);
  return value;
}
