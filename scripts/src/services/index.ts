import { Redis } from 'ioredis';
import { SetupError } from '../errors.ts';
import type { ServicesConfig } from '../config.ts';
import { KAFKA_DEFAULT_PORT, kafkaOurs, startKafka, stopKafka } from './kafka.ts';
import { redisAnswers, redisOurs, startRedis, stopRedis } from './redis.ts';
import { ensureTopics, kafkaAnswers } from './topics.ts';

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** A local single broker address we may start ourselves, or undefined for a remote cluster. */
function localKafkaPort(cfg: ServicesConfig): number | undefined {
  if (cfg.kafkaBrokers.length !== 1) return undefined;
  const [host, port] = cfg.kafkaBrokers[0]!.split(/:(?=\d+$)/);
  return host && LOCAL_HOSTS.has(host) ? Number(port ?? KAFKA_DEFAULT_PORT) : undefined;
}

function localRedisPort(cfg: ServicesConfig): number | undefined {
  const u = new URL(cfg.redisUrl);
  if (!LOCAL_HOSTS.has(u.hostname) || u.password) return undefined;
  return Number(u.port || 6379);
}

async function redisUrlAnswers(url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

const say = (line: string) => console.log(line);

/** Starts what is missing (idempotent) and creates the topics. */
export async function servicesUp(cfg: ServicesConfig): Promise<void> {
  const kPort = localKafkaPort(cfg);
  if (kPort === undefined) {
    if (!(await kafkaAnswers(cfg.kafkaBrokers))) {
      throw new SetupError(
        `KAFKA_BROKERS=${cfg.kafkaBrokersSetting} does not answer; start that cluster or unset KAFKA_BROKERS to run a local broker`,
      );
    }
    say(`kafka: using ${cfg.kafkaBrokers.join(',')} (not started by us)`);
  } else {
    const r = await startKafka(kPort, () => kafkaAnswers(cfg.kafkaBrokers));
    const pid = kafkaOurs()?.pid;
    say(
      r === 'started'
        ? `kafka: started on 127.0.0.1:${kPort} (pid ${pid})`
        : r === 'running-ours'
          ? `kafka: already running on 127.0.0.1:${kPort} (pid ${pid}, ours)`
          : `kafka: using the broker already at 127.0.0.1:${kPort} (not started by us)`,
    );
  }

  const rPort = localRedisPort(cfg);
  if (rPort === undefined) {
    if (!(await redisUrlAnswers(cfg.redisUrl))) {
      throw new SetupError(
        `REDIS_URL does not answer PING (${new URL(cfg.redisUrl).host}); start that Redis or unset REDIS_URL to run a local one`,
      );
    }
    say(`redis: using ${new URL(cfg.redisUrl).host} (not started by us)`);
  } else {
    const r = await startRedis(rPort);
    const pid = redisOurs()?.pid;
    say(
      r === 'started'
        ? `redis: started on 127.0.0.1:${rPort} (pid ${pid})`
        : r === 'running-ours'
          ? `redis: already running on 127.0.0.1:${rPort} (pid ${pid}, ours)`
          : `redis: using the server already at 127.0.0.1:${rPort} (not started by us)`,
    );
  }

  const created = await ensureTopics({
    brokers: cfg.kafkaBrokers,
    prefix: cfg.topicPrefix,
    partitions: cfg.partitions,
    replicationFactor: cfg.replicationFactor,
    minInsyncReplicas: cfg.minInsyncReplicas,
  });
  say(created.length ? `kafka: created topics ${created.join(', ')} (${cfg.partitions} partitions)` : 'kafka: topics present');
}

/** Stops only what services:up started, by recorded pid. */
export async function servicesDown(): Promise<void> {
  const k = await stopKafka();
  say(k ? `kafka: stopped pid ${k.pid}` : 'kafka: nothing of ours running');
  const r = await stopRedis();
  say(r ? `redis: stopped pid ${r.pid}` : 'redis: nothing of ours running');
}

export async function servicesStatus(cfg: ServicesConfig): Promise<boolean> {
  const k = kafkaOurs();
  const kOk = await kafkaAnswers(cfg.kafkaBrokers);
  say(`kafka: ${kOk ? 'up' : 'down'} at ${cfg.kafkaBrokers.join(',')}${k ? ` (ours, pid ${k.pid})` : kOk ? ' (not ours)' : ''}`);
  const r = redisOurs();
  const rPort = localRedisPort(cfg);
  const rOk = rPort !== undefined ? await redisAnswers(rPort) : await redisUrlAnswers(cfg.redisUrl);
  say(`redis: ${rOk ? 'up' : 'down'} at ${new URL(cfg.redisUrl).host}${r ? ` (ours, pid ${r.pid})` : rOk ? ' (not ours)' : ''}`);
  return kOk && rOk;
}
