import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SetupError } from '../errors.ts';
import { KAFKA_HOME, LOG_DIR, ROOT, TOOLS } from '../paths.ts';
import { portOpen, runningOurs, sleep, stopOurs, writePid } from './procs.ts';
import { requireJava, requireMaven } from './tools.ts';

export const KAFKA_HOST = '127.0.0.1';
export const KAFKA_DEFAULT_PORT = 9092;
const POM = path.join(ROOT, 'scripts/kafka/pom.xml');
const LIBS = path.join(TOOLS, 'kafka-libs');
const DATA = path.join(KAFKA_HOME, 'data');
const PROPS = path.join(KAFKA_HOME, 'server.properties');
const LOG4J = path.join(KAFKA_HOME, 'log4j2.properties');
const SERVER_LOG = path.join(LOG_DIR, 'kafka-server.log');
const NAME = 'kafka';

function pomHash(): string {
  return crypto.createHash('sha256').update(fs.readFileSync(POM)).digest('hex');
}

/** Resolves the broker jars from Maven Central once (re-resolves when the pom changes). */
export function ensureKafkaJars(): void {
  const stamp = path.join(LIBS, '.pom-sha256');
  const want = pomHash();
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === want) return;
  requireMaven();
  console.log('setup: resolving the Kafka jars with Maven (first run only)');
  fs.rmSync(LIBS, { recursive: true, force: true });
  fs.mkdirSync(LIBS, { recursive: true });
  const r = spawnSync(
    'mvn',
    ['-B', '-q', '-f', POM, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${LIBS}`],
    { stdio: 'inherit' },
  );
  if (r.status !== 0)
    throw new SetupError(`mvn could not resolve the Kafka jars (exit ${r.status}); check Maven's repository access and ${POM}`);
  fs.writeFileSync(stamp, want);
}

function writeConfig(port: number): void {
  const controllerPort = port + 1;
  fs.mkdirSync(DATA, { recursive: true });
  fs.mkdirSync(LOG_DIR, { recursive: true });
  const props = [
    '# Written by scripts/src/services/kafka.ts on every start; edit there.',
    'process.roles=broker,controller',
    'node.id=1',
    `listeners=PLAINTEXT://${KAFKA_HOST}:${port},CONTROLLER://${KAFKA_HOST}:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://${KAFKA_HOST}:${port}`,
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    // --standalone formatting requires the bootstrap form, not controller.quorum.voters.
    `controller.quorum.bootstrap.servers=${KAFKA_HOST}:${controllerPort}`,
    `log.dirs=${DATA}`,
    // Topics are created by the project with partitions from settings, never by accident.
    'auto.create.topics.enable=false',
    'num.partitions=6',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=12',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    // Single broker: no point waiting for more members before the first rebalance.
    'group.initial.rebalance.delay.ms=0',
    'log.retention.hours=168',
    'log.segment.bytes=268435456',
    'message.max.bytes=1048588',
    'delete.topic.enable=true',
  ].join('\n');
  fs.writeFileSync(PROPS, props + '\n');
  const log4j = [
    'status = warn',
    'appender.file.type = RollingFile',
    'appender.file.name = FILE',
    `appender.file.fileName = ${SERVER_LOG}`,
    `appender.file.filePattern = ${SERVER_LOG}.%i`,
    'appender.file.layout.type = PatternLayout',
    'appender.file.layout.pattern = [%d] %p %m (%c)%n',
    'appender.file.policies.type = Policies',
    'appender.file.policies.size.type = SizeBasedTriggeringPolicy',
    'appender.file.policies.size.size = 50MB',
    'appender.file.strategy.type = DefaultRolloverStrategy',
    'appender.file.strategy.max = 3',
    'rootLogger.level = info',
    'rootLogger.appenderRef.file.ref = FILE',
    'logger.kafka.name = kafka',
    'logger.kafka.level = info',
    'logger.state.name = state.change.logger',
    'logger.state.level = warn',
  ].join('\n');
  fs.writeFileSync(LOG4J, log4j + '\n');
}

function javaArgs(mainClass: string, ...args: string[]): string[] {
  return [
    '-Xms512m',
    '-Xmx1g',
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${LOG4J}`,
    '-cp',
    `${LIBS}/*`,
    mainClass,
    ...args,
  ];
}

function formatOnce(): void {
  if (fs.existsSync(path.join(DATA, 'meta.properties'))) return;
  const uuid = spawnSync('java', javaArgs('kafka.tools.StorageTool', 'random-uuid'), { encoding: 'utf8' });
  const clusterId = uuid.stdout.trim().split('\n').pop()?.trim();
  if (uuid.status !== 0 || !clusterId) throw new SetupError(`kafka StorageTool random-uuid failed: ${uuid.stderr.trim().slice(0, 400)}`);
  const fmt = spawnSync('java', javaArgs('kafka.tools.StorageTool', 'format', '--standalone', '-t', clusterId, '-c', PROPS), {
    encoding: 'utf8',
  });
  if (fmt.status !== 0) throw new SetupError(`kafka storage format failed: ${(fmt.stderr || fmt.stdout).trim().slice(0, 400)}`);
  console.log(`kafka: storage formatted (cluster ${clusterId})`);
}

function logSize(): number {
  try {
    return fs.statSync(SERVER_LOG).size;
  } catch {
    return 0;
  }
}

function logSince(offset: number): string {
  try {
    const fd = fs.openSync(SERVER_LOG, 'r');
    const size = fs.fstatSync(fd).size;
    if (size < offset) offset = 0; // rolled over
    const buf = Buffer.alloc(size - offset);
    fs.readSync(fd, buf, 0, buf.length, offset);
    fs.closeSync(fd);
    return buf.toString('utf8');
  } catch {
    return '';
  }
}

export type StartResult = 'started' | 'running-ours' | 'external';

/** Starts the local broker unless one (ours or not) already answers on 127.0.0.1:<port>; the controller listens on port + 1. */
export async function startKafka(port: number, isKafka: () => Promise<boolean>): Promise<StartResult> {
  const controllerPort = port + 1;
  if (runningOurs(NAME)) return 'running-ours';
  if (await portOpen(KAFKA_HOST, port)) {
    if (await isKafka()) return 'external';
    throw new SetupError(
      `port ${port} on ${KAFKA_HOST} is taken by something that is not Kafka and was not started by us: free the port or set KAFKA_BROKERS to your Kafka`,
    );
  }
  if (await portOpen(KAFKA_HOST, controllerPort)) {
    throw new SetupError(
      `port ${controllerPort} on ${KAFKA_HOST} (the local Kafka controller) is taken by a process we did not start: free it or set KAFKA_BROKERS`,
    );
  }
  requireJava();
  ensureKafkaJars();
  writeConfig(port);
  formatOnce();
  const from = logSize();
  const out = fs.openSync(path.join(LOG_DIR, 'kafka.out'), 'a');
  const child = spawn('java', javaArgs('kafka.Kafka', PROPS), { detached: true, stdio: ['ignore', out, out], cwd: KAFKA_HOME });
  fs.closeSync(out);
  if (!child.pid) throw new SetupError('could not spawn java for Kafka');
  writePid({ name: NAME, pid: child.pid, signature: PROPS, started_at: new Date().toISOString() });
  child.unref();
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? -1));
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (logSince(from).includes('Kafka Server started')) return 'started';
    if (exited !== null) {
      throw new SetupError(
        `Kafka exited with code ${exited} while starting; last log lines:\n${logSince(from).split('\n').slice(-15).join('\n')}`,
      );
    }
    await sleep(250);
  }
  throw new SetupError(`Kafka did not log 'Kafka Server started' within 120 s; see ${SERVER_LOG}`);
}

export async function stopKafka() {
  return stopOurs(NAME, 30_000);
}

export function kafkaOurs() {
  return runningOurs(NAME);
}

export const kafkaPaths = { LIBS, DATA, PROPS, SERVER_LOG };
