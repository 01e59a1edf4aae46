import { logLevel, type logCreator } from 'kafkajs';
import type { Logger } from 'pino';

/** Routes kafkajs logs into the service's pino logger. */
export function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, ...extra } = log;
      const obj = { ns: namespace, ...extra };
      if (level === logLevel.ERROR) logger.error(obj, message);
      else if (level === logLevel.WARN) logger.warn(obj, message);
      else if (level === logLevel.INFO) logger.info(obj, message);
      else logger.debug(obj, message);
    };
}

/** kafkajs's own threshold; pino filters further. */
export function kafkaLogLevel(level: string): logLevel {
  if (level === 'debug' || level === 'trace') return logLevel.INFO;
  if (level === 'silent') return logLevel.NOTHING;
  return logLevel.WARN;
}
