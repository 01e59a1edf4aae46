/**
 * JSON parsing for untrusted bodies. JSON.parse itself never touches
 * prototypes (it defines own properties), but an own "__proto__" key becomes
 * dangerous as soon as some later code copies it with assignment
 * (Object.assign, a merge). So we drop "__proto__", "constructor" and
 * "prototype" keys everywhere, and bound nesting depth and key counts so a
 * small body cannot make later code do unbounded work.
 */
export interface JsonLimits {
  maxDepth: number;
  maxKeysPerObject: number;
  maxTotalKeys: number;
}

export const DEFAULT_JSON_LIMITS: JsonLimits = Object.freeze({ maxDepth: 8, maxKeysPerObject: 200, maxTotalKeys: 100_000 });

export class JsonLimitError extends Error {
  override name = 'JsonLimitError';
  readonly retriable = false;
}

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

export function parseJsonSafely(text: string, limits: JsonLimits = DEFAULT_JSON_LIMITS): unknown {
  const value: unknown = JSON.parse(text);
  const budget = { keys: 0 };
  sanitize(value, 0, limits, budget);
  return value;
}

function sanitize(value: unknown, depth: number, limits: JsonLimits, budget: { keys: number }): void {
  if (typeof value !== 'object' || value === null) return;
  if (depth >= limits.maxDepth) throw new JsonLimitError(`JSON nested deeper than ${limits.maxDepth} levels`);
  if (Array.isArray(value)) {
    budget.keys += value.length;
    if (budget.keys > limits.maxTotalKeys) throw new JsonLimitError(`JSON has more than ${limits.maxTotalKeys} values`);
    for (const item of value) sanitize(item, depth + 1, limits, budget);
    return;
  }
  const obj = value as Record<string, unknown>;
  let count = 0;
  for (const key in obj) {
    count++;
    if (FORBIDDEN.has(key)) {
      delete obj[key];
      continue;
    }
    sanitize(obj[key], depth + 1, limits, budget);
  }
  if (count > limits.maxKeysPerObject) throw new JsonLimitError(`a JSON object has more than ${limits.maxKeysPerObject} keys`);
  budget.keys += count;
  if (budget.keys > limits.maxTotalKeys) throw new JsonLimitError(`JSON has more than ${limits.maxTotalKeys} values`);
}
