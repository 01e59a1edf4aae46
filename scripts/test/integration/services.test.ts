import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../src/paths.ts';
import { freePort } from '../../src/testing/app.ts';

// A second, private set of services (own state folder, own ports) so this
// test can start and stop them without touching the ones the suite uses.
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-home-'));
const ports = { kafka: 0, redis: 0 };

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/src/cli.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: {
      ...process.env,
      STOREPULSE_HOME: home,
      KAFKA_BROKERS: `127.0.0.1:${ports.kafka}`,
      REDIS_URL: `redis://127.0.0.1:${ports.redis}`,
      TOPIC_PREFIX: 'svc_',
      ...env,
    },
    timeout: 180_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

function pidOf(name: string): number | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(home, 'run', `${name}.pid.json`), 'utf8')).pid;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('services:up / services:down', () => {
  afterAll(() => {
    cli(['services', 'down']);
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('starts Kafka and Redis once, is harmless the second time, and stops only what it started', async () => {
    ports.kafka = await freePort();
    ports.redis = await freePort();
    const first = cli(['services', 'up']);
    expect(first.code, first.out).toBe(0);
    expect(first.out).toMatch(/kafka: started on 127\.0\.0\.1:\d+ \(pid \d+\)/);
    expect(first.out).toMatch(/redis: started on 127\.0\.0\.1:\d+ \(pid \d+\)/);
    const kafkaPid = pidOf('kafka')!;
    const redisPid = pidOf('redis')!;
    expect(alive(kafkaPid) && alive(redisPid)).toBe(true);

    const second = cli(['services', 'up']);
    expect(second.code, second.out).toBe(0);
    expect(second.out).toContain(`kafka: already running on 127.0.0.1:${ports.kafka} (pid ${kafkaPid}, ours)`);
    expect(second.out).toContain(`redis: already running on 127.0.0.1:${ports.redis} (pid ${redisPid}, ours)`);
    expect(second.out).toContain('kafka: topics present');

    const down = cli(['services', 'down']);
    expect(down.code, down.out).toBe(0);
    expect(down.out).toContain(`kafka: stopped pid ${kafkaPid}`);
    expect(down.out).toContain(`redis: stopped pid ${redisPid}`);
    expect(alive(kafkaPid)).toBe(false);
    expect(alive(redisPid)).toBe(false);

    const again = cli(['services', 'down']);
    expect(again.out).toContain('kafka: nothing of ours running');
  }, 240_000);

  it('refuses a port taken by something that is not ours, and leaves that process alone', async () => {
    const squatter = net.createServer((s) => s.end('HTTP/1.1 400 nope\r\n\r\n'));
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', () => r()));
    const port = (squatter.address() as net.AddressInfo).port;
    try {
      const r = cli(['services', 'up'], { REDIS_URL: `redis://127.0.0.1:${port}`, KAFKA_BROKERS: `127.0.0.1:${port}` });
      expect(r.code).toBe(1);
      expect(r.out).toContain(`error: port ${port} on 127.0.0.1 is taken by something that is not Kafka and was not started by us`);
      expect(r.out).not.toMatch(/\n\s+at /); // one line, no stack trace
      expect(squatter.listening).toBe(true);
    } finally {
      squatter.close();
    }
  });

  it('names a missing java in one line instead of a stack trace', async () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-bin-'));
    for (const tool of ['sh', 'node', 'mvn']) {
      const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      if (found) fs.symlinkSync(tool === 'node' ? process.execPath : found, path.join(bin, tool));
    }
    const r = cli(['services', 'up'], { PATH: bin, KAFKA_BROKERS: `127.0.0.1:${await freePort()}` });
    fs.rmSync(bin, { recursive: true, force: true });
    expect(r.code).toBe(1);
    expect(r.out.trim()).toMatch(
      /^error: java is missing: Kafka needs Java 17 or newer \(Debian: apt-get install openjdk-17-jre-headless\)/,
    );
    expect(r.out).not.toMatch(/\n\s+at /);
  });
});
