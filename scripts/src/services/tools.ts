import { spawnSync } from 'node:child_process';
import { SetupError } from '../errors.ts';

export function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

export function javaMajor(): number {
  const r = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 0;
  const m = /version "(\d+)(?:\.(\d+))?/.exec(r.stderr + r.stdout);
  if (!m) return 0;
  const major = Number(m[1]);
  return major === 1 ? Number(m[2]) : major;
}

export function requireJava(): void {
  const major = javaMajor();
  if (major === 0) {
    throw new SetupError(
      'java is missing: Kafka needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless), or set KAFKA_BROKERS to a running Kafka',
    );
  }
  if (major < 17) {
    throw new SetupError(`java ${major} is too old: Kafka 4 needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)`);
  }
}

export function requireMaven(): void {
  if (!have('mvn')) {
    throw new SetupError(
      'mvn is missing: the Kafka jars are resolved with Maven (Debian: apt-get install maven), or set KAFKA_BROKERS to a running Kafka',
    );
  }
}

/** Installs Debian packages when we are root and apt-get exists; otherwise says how. */
export function aptInstall(pkgs: string[], why: string): void {
  const hint = `apt-get install -y ${pkgs.join(' ')}`;
  if (!have('apt-get'))
    throw new SetupError(`${pkgs.join(', ')} missing (${why}) and apt-get is not available: install ${pkgs.join(' ')} yourself`);
  if (process.getuid?.() !== 0) throw new SetupError(`${pkgs.join(', ')} missing (${why}): run as root: ${hint}`);
  console.log(`setup: installing ${pkgs.join(' ')} from Debian (${why})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { stdio: 'inherit', env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { stdio: 'inherit', env });
  }
  if (r.status !== 0) throw new SetupError(`could not install ${pkgs.join(' ')} with apt-get (exit ${r.status}): try '${hint}' by hand`);
}
