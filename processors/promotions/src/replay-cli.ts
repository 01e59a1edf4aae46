/**
 * npm run replay -w processors/promotions -- [--from beginning|<ISO time>] [--drop-old]
 * Rebuilds all user_promotions from Kafka into a new key space and switches over.
 */
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import { ConfigError } from './errors.ts';
import { loadPromotionsConfig } from './config.ts';
import { kafkaLogCreator } from './kafka-log.ts';
import { replayPromotions } from './replay.ts';

class UsageError extends Error {
  override name = 'UsageError';
}

function parseArgs(argv: string[]): { from: 'beginning' | number; dropOld: boolean } {
  let from: 'beginning' | number = 'beginning';
  let dropOld = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--drop-old') dropOld = true;
    else if (a === '--from') {
      const v = argv[++i] ?? '';
      if (v === 'beginning') from = 'beginning';
      else {
        const t = Date.parse(v);
        if (Number.isNaN(t))
          throw new UsageError(`--from expects "beginning" or an ISO time (2026-11-01T00:00:00Z), got ${JSON.stringify(v)}`);
        from = t;
      }
    } else throw new UsageError(`unknown argument ${a}; usage: replay [--from beginning|<ISO time>] [--drop-old]`);
  }
  return { from, dropOld };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const config = loadPromotionsConfig(process.env);
  const logger = pino({ level: config.logLevel });
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 20 });
  const kafka = new Kafka({
    clientId: `${config.kafkaClientId}-replay`,
    brokers: config.kafkaBrokers,
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(logger),
  });
  try {
    const r = await replayPromotions({
      config,
      logger,
      redis,
      kafka,
      from: args.from,
      dropOld: args.dropOld,
      onProgress: (p) => {
        const pct = p.total > 0 ? Math.min(100, (100 * p.processed) / p.total).toFixed(1) : '100.0';
        const rate = p.elapsedMs > 0 ? Math.round((p.processed * 1000) / p.elapsedMs) : 0;
        process.stderr.write(
          `replay ${p.phase}: ${p.processed}/${p.total} messages (${pct}%), ${rate}/s, ${(p.elapsedMs / 1000).toFixed(1)} s\n`,
        );
      },
    });
    process.stderr.write(
      `replay done: generation ${JSON.stringify(r.generation)} (was ${JSON.stringify(r.previous)}), ${r.processed} messages in ${(r.elapsedMs / 1000).toFixed(1)} s\n`,
    );
  } finally {
    redis.disconnect();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `${err instanceof ConfigError || err instanceof UsageError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
