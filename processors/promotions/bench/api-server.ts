/**
 * The homepage API alone (no consumer), for the API benchmark. Prints "ready" when listening.
 * With PROFILE_OUT=<file.cpuprofile>: SIGUSR2 starts the V8 CPU profiler, a second SIGUSR2 stops
 * it and writes the file (so the profile covers the measured window only, not start-up or warm-up).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import express from 'express';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createPromotionsService, loadPromotionsConfig } from '../src/index.ts';

const config = loadPromotionsConfig(process.env);
const service = createPromotionsService({ config, logger: pino({ level: 'warn' }), registry: new Registry(), consume: false });
const app = express();
app.disable('x-powered-by');
app.disable('etag');
service.mount(app);
await service.start();
const server = app.listen(config.port, '127.0.0.1', () => process.stdout.write('ready\n'));
server.keepAliveTimeout = 60_000;
const profileOut = process.env.PROFILE_OUT;
if (profileOut) {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 1000 });
  let running = false;
  process.on('SIGUSR2', () => {
    running = !running;
    if (running) void session.post('Profiler.start').then(() => process.stdout.write('profiling\n'));
    else
      void session.post('Profiler.stop').then(({ profile }) => {
        writeFileSync(profileOut, JSON.stringify(profile));
        process.stdout.write('profiled\n');
      });
  });
}
// Event-loop delay and GC pauses of the server, from the bench's SIGHUP (the measured window) to its
// exit: separates stalls of the server from those of the load generator.
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
const gc = { count: 0, totalMs: 0, maxMs: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.count++;
    gc.totalMs += e.duration;
    gc.maxMs = Math.max(gc.maxMs, e.duration);
  }
}).observe({ entryTypes: ['gc'] });
// SIGHUP: start both afresh (the bench sends it when its measured window begins).
process.on('SIGHUP', () => {
  loopDelay.reset();
  Object.assign(gc, { count: 0, totalMs: 0, maxMs: 0 });
});
process.on('SIGTERM', () => {
  const ms = (ns: number) => (ns / 1e6).toFixed(2);
  process.stdout.write(
    `server event-loop delay: p50=${ms(loopDelay.percentile(50))}ms p99=${ms(loopDelay.percentile(99))}ms max=${ms(loopDelay.max)}ms; GC pauses ${gc.count}, total ${gc.totalMs.toFixed(0)} ms, longest ${gc.maxMs.toFixed(1)} ms\n`,
  );
  server.close();
  void service.stop().then(() => process.exit(0));
});
