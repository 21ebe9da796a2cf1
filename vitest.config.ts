import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // SIP end-to-end files share drachtio-server and loopback SIP ports: one file at a time.
    fileParallelism: false,
  },
});
