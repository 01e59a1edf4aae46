import net from 'node:net';
import { Kafka, logLevel, type ISocketFactory, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';
import type { IngestConfig } from './config.ts';
import { installFastKafkajsEncoder } from './kafkajs-encoder.ts';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs' own socket factory leaves Nagle's algorithm on. With the idempotent
 * producer that turned a 5 ms produce round trip on localhost into 27 ms
 * (bench/RESULTS.md), so our sockets set noDelay.
 */
export const noDelaySocketFactory: ISocketFactory = ({ host, port, onConnect }) => {
  const socket = net.connect({ host, port, noDelay: true }, onConnect);
  socket.setKeepAlive(true, 60_000);
  return socket;
};

/** A kafkajs client whose logs go to our pino logger. */
export function createKafka(config: Readonly<IngestConfig>, logger: Logger, socketFactory?: ISocketFactory): Kafka {
  // Process-wide (kafkajs has one Encoder class); see kafkajs-encoder.ts and bench/RESULTS.md.
  if (config.kafkaFastEncoder && !installFastKafkajsEncoder())
    logger.warn('KAFKA_FAST_ENCODER: this kafkajs version was not checked; using its own encoder');
  const log = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: config.kafkaClientId,
    brokers: config.kafkaBrokers,
    // Connect and request timeouts sit inside the per-request deadline, so a
    // dead broker is noticed, and retried, while requests still wait.
    connectionTimeout: Math.min(3000, Math.max(500, Math.floor(config.produceTimeoutMs / 2))),
    requestTimeout: config.produceTimeoutMs + 1000,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 5 },
    // No connection-level maxInFlightRequests: the produce pipeline already
    // keeps one call in flight when idempotent, and kafkajs' request queue with
    // a limit was seen to stay blocked after a broker connection was reset
    // (every later Produce timed out until restart; kafka-outage test).
    socketFactory: socketFactory ?? noDelaySocketFactory,
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, timestamp: _t, logger: _l, ...rest } = entry;
        log[LEVELS[level] ?? 'info'](rest, message);
      },
  });
}
