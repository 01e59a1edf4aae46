import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/**
 * The one git-ignored folder for jars, binaries, service data, logs and pid
 * files. STOREPULSE_HOME moves it (the services test uses its own).
 */
export const LOCAL = process.env.STOREPULSE_HOME ? path.resolve(process.env.STOREPULSE_HOME) : path.join(ROOT, '.local');
/** Downloaded tools and jars stay under the checkout's .local even when STOREPULSE_HOME moves the state. */
export const TOOLS = path.join(ROOT, '.local', 'tools');
export const RUN_DIR = path.join(LOCAL, 'run');
export const LOG_DIR = path.join(LOCAL, 'logs');
export const KAFKA_HOME = path.join(LOCAL, 'kafka');
export const REDIS_HOME = path.join(LOCAL, 'redis');
