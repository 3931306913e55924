// The dashboard's files, built by scripts/build.mjs into dist/dashboard/ and served by the
// broker itself (no separate web server). Only the names listed here are ever read.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DASHBOARD_FILES = {
  'index.html': 'text/html; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.js.map': 'application/json; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
} as const;
export type DashboardFile = keyof typeof DASHBOARD_FILES;

export interface StaticAssets {
  /** Where the files are; null when the dashboard has not been built. */
  readonly dir: string | null;
  read(name: DashboardFile): { body: Buffer; contentType: string } | null;
}

/** dist/dashboard beside the bundled bin (dist/mqpay.js), or the repo's dist/ when run from sources (this file is broker/operator/http/). */
function defaultDirs(): string[] {
  return [fileURLToPath(new URL('./dashboard/', import.meta.url)), fileURLToPath(new URL('../../../dist/dashboard/', import.meta.url))];
}

export function staticAssets(dir?: string): StaticAssets {
  const found = (dir === undefined ? defaultDirs() : [dir]).find((candidate) => existsSync(join(candidate, 'index.html'))) ?? null;
  return {
    dir: found,
    read(name) {
      if (found === null || !Object.hasOwn(DASHBOARD_FILES, name)) return null;
      try {
        return { body: readFileSync(join(found, name)), contentType: DASHBOARD_FILES[name] };
      } catch {
        return null;
      }
    },
  };
}
