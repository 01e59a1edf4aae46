import fs from 'node:fs';
import { aptInstall } from './tools.ts';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Browser tests drive Debian's chromium with playwright-core; install it when missing. */
export function ensureChromium(): void {
  if (fs.existsSync(CHROMIUM_PATH)) return;
  aptInstall(['chromium'], 'headless browser for the SDK and dashboard tests');
}
