import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Integration tests start real brokers and child processes; give them room but keep a bound.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: run files in parallel but not so many that broker tests starve each other.
    maxWorkers: 2,
  },
});
