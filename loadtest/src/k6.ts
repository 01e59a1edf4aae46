/**
 * Finds k6 or builds it with Go (1.25+, CGO_ENABLED=0) into the checkout's
 * .local/tools/k6. The build runs in loadtest/k6build, a module whose go.mod
 * and go.sum pin go.k6.io/k6/v2 and every dependency by checksum. (Plain
 * `go install go.k6.io/k6/v2@<version>` asks the module proxy for k6/v2's
 * version list to check deprecation, and the proxy answers that list with 404,
 * so it fails there; building the pinned module needs only exact versions.)
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const K6_MODULE = 'go.k6.io/k6/v2';
// v2.3.0 is listed but its module zip is refused by the Go module proxy (403); v2.2.0 downloads and builds.
export const K6_VERSION = 'v2.2.0';
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN_DIR = path.join(ROOT, '.local', 'tools', 'k6', K6_VERSION);

export class K6SetupError extends Error {
  override name = 'K6SetupError';
}

function versionOf(bin: string): string | undefined {
  const r = spawnSync(bin, ['version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function goVersion(): [number, number] | undefined {
  const r = spawnSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' });
  const m = r.status === 0 ? /go(\d+)\.(\d+)/.exec(r.stdout) : null;
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** Path of a k6 v2 binary: $K6_BIN, ours, or one on PATH; otherwise built now. */
export function ensureK6(log: (line: string) => void = console.error): string {
  const fromEnv = process.env.K6_BIN;
  if (fromEnv) {
    if (!versionOf(fromEnv)) throw new K6SetupError(`K6_BIN=${fromEnv} does not run`);
    return fromEnv;
  }
  const ours = path.join(BIN_DIR, 'k6');
  if (fs.existsSync(ours) && versionOf(ours)) return ours;
  const onPath = spawnSync('sh', ['-c', 'command -v k6'], { encoding: 'utf8' }).stdout.trim();
  if (onPath && /v2\./.test(versionOf(onPath) ?? '')) return onPath;

  const go = goVersion();
  if (!go)
    throw new K6SetupError(
      'k6 is missing and so is Go: install Go 1.25+ (https://go.dev/doc/install) so k6 can be built, or put a k6 v2 binary on PATH / in K6_BIN',
    );
  if (go[0] === 1 && go[1] < 25) throw new K6SetupError(`k6 ${K6_VERSION} needs Go 1.25+ to build; this machine has go${go.join('.')}`);
  log(`loadtest: building k6 ${K6_VERSION} with go (first run only, a few minutes)`);
  fs.mkdirSync(BIN_DIR, { recursive: true });
  const r = spawnSync('go', ['build', '-trimpath', '-o', ours, K6_MODULE], {
    cwd: path.join(ROOT, 'loadtest', 'k6build'),
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly' },
  });
  if (r.status !== 0 || !fs.existsSync(ours))
    throw new K6SetupError(`building ${K6_MODULE}@${K6_VERSION} failed (exit ${r.status}); check the Go module proxy access`);
  return ours;
}
