import { defineConfig } from 'vitest/config';

// The long suites (`npm run test:long`): load and fault runs that take minutes, kept out of
// `npm test`. CI runs them after the main suite.
export default defineConfig({
  test: {
    include: ['test/long/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
  },
});
