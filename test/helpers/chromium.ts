// Headless Chromium for the dashboard tests: Debian's `chromium`, driven by playwright-core. A
// test that needs it is skipped, loudly, when the package is missing.
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Whether Chromium is installed; warns that `what` is skipped when it is not. */
export function chromiumFor(what: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  console.warn(`\n${'!'.repeat(78)}\n!! SKIPPING ${what}: ${CHROMIUM} is missing.\n!! Install Debian's chromium (apt-get install -y chromium; .ci/run does) to run it.\n${'!'.repeat(78)}\n`);
  return false;
}
