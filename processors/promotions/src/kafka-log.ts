import { type logCreator, logLevel } from 'kafkajs';
import type { Logger } from 'pino';

/** Routes kafkajs logs into the service's pino logger. */
export function kafkaLogCreator(logger: Logger): logCreator {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    ({ level, log }) => {
      const { message, ...rest } = log;
      if (level === logLevel.ERROR) child.error(rest, message);
      else if (level === logLevel.WARN) child.warn(rest, message);
      else if (level === logLevel.INFO) child.info(rest, message);
      else child.debug(rest, message);
    };
}
