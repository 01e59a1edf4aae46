/**
 * A private redis-server (own port, no persistence) that a test may kill,
 * freeze and restart empty; the shared Redis on 6379 is never touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../../../scripts/src/testing/app.ts';

export interface PrivateRedis {
  url: string;
  port: number;
  /** SIGKILL: gone without a goodbye, its data with it. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: connected but silent. */
  freeze(): void;
  thaw(): void;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => done(d.toString().startsWith('+PONG')));
    s.on('error', () => done(false));
  });
}

/** A port nothing listens on (for "Redis was never there"). */
export async function closedPort(): Promise<number> {
  return freePort();
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-promo-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const end = async (signal: NodeJS.Signals) => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    try {
      process.kill(c.pid!, 'SIGCONT');
    } catch {
      // gone
    }
    c.kill(signal);
    await exited;
  };
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: 'ignore',
    });
    const c = child;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (await answersPing(port)) return;
      if (c.exitCode !== null)
        throw new Error(`private redis-server exited with ${c.exitCode}; is redis-server installed (npm run services:up installs it)?`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('private redis-server did not answer PING within 20 s');
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill: () => end('SIGKILL'),
    freeze: () => child?.kill('SIGSTOP'),
    thaw: () => child?.kill('SIGCONT'),
    start,
    async stop() {
      await end('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
