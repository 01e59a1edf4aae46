import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { SetupError } from '../errors.ts';
import { LOG_DIR, REDIS_HOME } from '../paths.ts';
import { portOpen, runningOurs, sleep, stopOurs, writePid } from './procs.ts';
import { aptInstall, have } from './tools.ts';

export const REDIS_HOST = '127.0.0.1';
const NAME = 'redis';
const CONF = path.join(REDIS_HOME, 'redis.conf');

const DATA = path.join(REDIS_HOME, 'data');

function writeConfig(port: number): void {
  const data = DATA;
  fs.mkdirSync(data, { recursive: true });
  fs.mkdirSync(LOG_DIR, { recursive: true });
  fs.writeFileSync(
    CONF,
    [
      '# Written by scripts/src/services/redis.ts on every start; edit there.',
      `bind ${REDIS_HOST}`,
      `port ${port}`,
      'protected-mode yes',
      'daemonize no',
      `dir ${data}`,
      `logfile ${path.join(LOG_DIR, 'redis.log')}`,
      // AOF so that acknowledged promotion state survives a restart of our Redis.
      'appendonly yes',
      'appendfsync everysec',
      'save ""',
      'maxmemory-policy noeviction',
    ].join('\n') + '\n',
  );
}

export async function redisAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: REDIS_HOST, port });
    let buf = '';
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG') || buf.startsWith('-NOAUTH'));
    });
    s.on('error', () => done(false));
  });
}

export type StartResult = 'started' | 'running-ours' | 'external';

export async function startRedis(port = 6379): Promise<StartResult> {
  if (runningOurs(NAME)) return 'running-ours';
  if (await portOpen(REDIS_HOST, port)) {
    if (await redisAnswers(port)) return 'external';
    throw new SetupError(
      `port ${port} on ${REDIS_HOST} is taken by something that is not Redis and was not started by us: free the port or set REDIS_URL`,
    );
  }
  if (!have('redis-server')) aptInstall(['redis-server'], 'the local Redis for promotions');
  writeConfig(port);
  const child = spawn('redis-server', [CONF], { detached: true, stdio: 'ignore', cwd: REDIS_HOME });
  if (!child.pid) throw new SetupError('could not spawn redis-server');
  // redis rewrites its process title, so ownership is proven by its working directory (its `dir`).
  writePid({ name: NAME, pid: child.pid, signature: DATA, started_at: new Date().toISOString() });
  child.unref();
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? -1));
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (await redisAnswers(port)) return 'started';
    if (exited !== null) throw new SetupError(`redis-server exited with code ${exited}; see ${path.join(LOG_DIR, 'redis.log')}`);
    await sleep(100);
  }
  throw new SetupError(`redis-server did not answer PING within 20 s; see ${path.join(LOG_DIR, 'redis.log')}`);
}

export async function stopRedis() {
  return stopOurs(NAME, 10_000);
}

export function redisOurs() {
  return runningOurs(NAME);
}
