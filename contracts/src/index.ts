export * from './topics.ts';
export * from './keys.ts';
export * from './events.ts';
export * from './rows.ts';
export * from './identity.ts';
export * from './schema.ts';
export * from './group-guard.ts';
