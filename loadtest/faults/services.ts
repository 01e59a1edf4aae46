/**
 * Private Kafka and Redis for one fault scenario: own ports, own temp state
 * folder, own pids. The shared services on 9092/6379 are never touched: a
 * scenario kills, pauses and restarts only the processes started here.
 *
 * Kafka is started directly with java (the jars and the JVM arguments of
 * scripts/src/services/kafka.ts) rather than through `services up`, because
 * the lost-acknowledgement scenario needs a broker whose advertised listener
 * is a fault proxy in front of it: kafkajs connects to whatever address the
 * metadata advertises, so a proxy only sees the traffic if the broker names it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../../scripts/src/paths.ts';

const LIBS = path.join(ROOT, '.local', 'tools', 'kafka-libs');
const HOST = '127.0.0.1';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, HOST, () => srv.close(() => resolve(true)));
  });
}

/** A free port whose next `extra` ports are free too (Kafka's controller listens on port + 1). */
export async function freePorts(extra = 0): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let p = base; p <= base + extra && ok; p++) ok = await portFree(p);
    if (ok) return base;
  }
  throw new Error('no free port range found on 127.0.0.1');
}

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function killAndWait(child: ChildProcess | undefined, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(child.pid, 'SIGCONT');
  } catch {
    // already gone
  }
  child.kill(signal);
  const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(t);
}

export interface PrivateKafka {
  /** The port clients bootstrap to (the proxy's when advertisedPort was given). */
  brokers: string[];
  port: number;
  pid(): number | undefined;
  /** SIGKILL: the broker dies without a goodbye, as in a crash. */
  kill(): Promise<void>;
  /** SIGSTOP: the broker stays connected but answers nothing. */
  pause(): void;
  resume(): void;
  /** Starts the broker again on the same data (after kill). */
  start(): Promise<void>;
  stop(): Promise<void>;
  logTail(lines?: number): string;
}

export interface KafkaOptions {
  /** Clients are told to connect here (a fault proxy forwarding to the broker's port). */
  advertisedPort?: number;
  home?: string;
}

export async function startPrivateKafka(opts: KafkaOptions = {}): Promise<PrivateKafka> {
  if (!fs.existsSync(LIBS)) throw new Error(`Kafka jars are missing at ${LIBS}: run \`npm run services:up\` once to resolve them`);
  const home = opts.home ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sp-fault-kafka-'));
  const port = await freePorts(1);
  const advertised = opts.advertisedPort ?? port;
  const data = path.join(home, 'data');
  const props = path.join(home, 'server.properties');
  const log4j = path.join(home, 'log4j2.properties');
  const serverLog = path.join(home, 'server.log');
  fs.mkdirSync(data, { recursive: true });
  fs.writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `listeners=PLAINTEXT://${HOST}:${port},CONTROLLER://${HOST}:${port + 1}`,
      `advertised.listeners=PLAINTEXT://${HOST}:${advertised}`,
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      `controller.quorum.bootstrap.servers=${HOST}:${port + 1}`,
      `log.dirs=${data}`,
      'auto.create.topics.enable=false',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=6',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'message.max.bytes=1048588',
      'delete.topic.enable=true',
    ].join('\n') + '\n',
  );
  fs.writeFileSync(
    log4j,
    [
      'status = warn',
      'appender.file.type = File',
      'appender.file.name = FILE',
      `appender.file.fileName = ${serverLog}`,
      'appender.file.layout.type = PatternLayout',
      'appender.file.layout.pattern = [%d] %p %m (%c)%n',
      'rootLogger.level = info',
      'rootLogger.appenderRef.file.ref = FILE',
      'logger.state.name = state.change.logger',
      'logger.state.level = warn',
    ].join('\n') + '\n',
  );
  const javaArgs = (main: string, ...args: string[]) => [
    '-Xms256m',
    '-Xmx768m',
    '-XX:+UseG1GC',
    '-XX:TieredStopAtLevel=1',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${log4j}`,
    '-cp',
    `${LIBS}/*`,
    main,
    ...args,
  ];
  const uuid = spawnSync('java', javaArgs('kafka.tools.StorageTool', 'random-uuid'), { encoding: 'utf8' });
  const clusterId = uuid.stdout.trim().split('\n').pop()?.trim();
  if (uuid.status !== 0 || !clusterId) throw new Error(`kafka StorageTool random-uuid failed: ${uuid.stderr.slice(0, 400)}`);
  const fmt = spawnSync('java', javaArgs('kafka.tools.StorageTool', 'format', '--standalone', '-t', clusterId, '-c', props), {
    encoding: 'utf8',
  });
  if (fmt.status !== 0) throw new Error(`kafka storage format failed: ${(fmt.stderr || fmt.stdout).slice(0, 400)}`);

  let child: ChildProcess | undefined;
  const logSize = () => (fs.existsSync(serverLog) ? fs.statSync(serverLog).size : 0);
  const logFrom = (offset: number) => {
    try {
      return fs.readFileSync(serverLog).subarray(offset).toString('utf8');
    } catch {
      return '';
    }
  };
  const start = async () => {
    const from = logSize();
    const out = fs.openSync(path.join(home, 'kafka.out'), 'a');
    child = spawn('java', javaArgs('kafka.Kafka', props), { stdio: ['ignore', out, out], cwd: home });
    fs.closeSync(out);
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if (logFrom(from).includes('Kafka Server started')) return;
      if (child.exitCode !== null) throw new Error(`private Kafka exited with ${child.exitCode}: ${logFrom(from).slice(-2000)}`);
      await sleep(200);
    }
    throw new Error(`private Kafka did not start within 120 s; see ${serverLog}`);
  };
  await start();
  return {
    brokers: [`${HOST}:${advertised}`],
    port,
    pid: () => (child && alive(child.pid) ? child.pid : undefined),
    async kill() {
      await killAndWait(child, 'SIGKILL', 5000);
    },
    pause() {
      if (child?.pid) process.kill(child.pid, 'SIGSTOP');
    },
    resume() {
      if (child?.pid) process.kill(child.pid, 'SIGCONT');
    },
    start,
    async stop() {
      await killAndWait(child, 'SIGTERM', 15_000);
      fs.rmSync(home, { recursive: true, force: true });
    },
    logTail(lines = 30) {
      return logFrom(0).split('\n').slice(-lines).join('\n');
    },
  };
}

export interface PrivateRedis {
  url: string;
  port: number;
  pid(): number | undefined;
  /** SIGKILL; with no persistence the next start is empty. */
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A redis-server without persistence: a restart comes back empty, as a lost cache node does. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-fault-redis-'));
  const port = await freePorts(0);
  let child: ChildProcess | undefined;
  const answers = () =>
    new Promise<boolean>((resolve) => {
      const s = net.connect({ host: HOST, port });
      let buf = '';
      const done = (ok: boolean) => {
        s.destroy();
        resolve(ok);
      };
      s.setTimeout(500, () => done(false));
      s.on('connect', () => s.write('PING\r\n'));
      s.on('data', (d) => {
        buf += d.toString();
        if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
      });
      s.on('error', () => done(false));
    });
  const start = async () => {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        HOST,
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        home,
        '--logfile',
        path.join(home, 'redis.log'),
      ],
      {
        stdio: 'ignore',
        cwd: home,
      },
    );
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (await answers()) return;
      if (child.exitCode !== null) throw new Error(`private redis-server exited with ${child.exitCode}; is redis-server installed?`);
      await sleep(100);
    }
    throw new Error('private redis-server did not answer PING within 20 s');
  };
  await start();
  return {
    url: `redis://${HOST}:${port}`,
    port,
    pid: () => (child && alive(child.pid) ? child.pid : undefined),
    async kill() {
      await killAndWait(child, 'SIGKILL', 5000);
    },
    start,
    async stop() {
      await killAndWait(child, 'SIGTERM', 5000);
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}
