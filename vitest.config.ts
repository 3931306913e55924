import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The long suites have their own config (vitest.long.config.ts, npm run test:long).
    exclude: ['test/long/**', '**/node_modules/**'],
    globalSetup: ['test/global-setup.ts'],
    // Integration tests start real brokers and child processes; give them room but keep a bound.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: run files in parallel but not so many that broker tests starve each other.
    maxWorkers: 2,
  },
});
