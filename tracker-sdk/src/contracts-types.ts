/**
 * The slice of @storepulse/contracts the SDK may see: wire and event types
 * only. tsconfig.json maps `@storepulse/contracts` here so that type-checking
 * the browser code never pulls in server modules (identity.ts uses
 * node:crypto); the bundle gets no contracts code at all (`import type` only).
 */
export type * from '../../contracts/src/events.ts';
export type * from '../../contracts/src/topics.ts';
