import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { RUN_DIR } from '../paths.ts';

/** What we remember about a process we started, so we only ever stop our own. */
export interface PidRecord {
  name: string;
  pid: number;
  /**
   * Proof that the pid is still ours (pids get reused): a string that appears
   * in /proc/<pid>/cmdline, or the process's working directory.
   */
  signature: string;
  started_at: string;
}

function pidFile(name: string): string {
  return path.join(RUN_DIR, `${name}.pid.json`);
}

export function writePid(rec: PidRecord): void {
  fs.mkdirSync(RUN_DIR, { recursive: true });
  fs.writeFileSync(pidFile(rec.name), JSON.stringify(rec, null, 2));
}

export function readPid(name: string): PidRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(pidFile(name), 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
}

export function removePid(name: string): void {
  fs.rmSync(pidFile(name), { force: true });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

function cwd(pid: number): string {
  try {
    return fs.readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return '';
  }
}

/** The recorded process is alive and is still the one we started (pids get reused). */
export function runningOurs(name: string): PidRecord | undefined {
  const rec = readPid(name);
  if (!rec) return undefined;
  if (isAlive(rec.pid) && (cmdline(rec.pid).includes(rec.signature) || cwd(rec.pid) === rec.signature)) return rec;
  return undefined;
}

export function portOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Stops a process we started: SIGTERM, then SIGKILL after `graceMs`.
 * Returns false when there was nothing of ours to stop.
 */
export async function stopOurs(name: string, graceMs = 20_000): Promise<PidRecord | undefined> {
  const rec = runningOurs(name);
  if (!rec) {
    removePid(name);
    return undefined;
  }
  process.kill(rec.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(rec.pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(rec.pid)) {
    process.kill(rec.pid, 'SIGKILL');
    while (isAlive(rec.pid)) await sleep(50);
  }
  removePid(name);
  return rec;
}
