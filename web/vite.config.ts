/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

declare const process: { env: Record<string, string | undefined> };

// The local stack (make dev) serves the API; `make web` proxies to it for hot reload.
const api = process.env.TRADEBOT_API ?? 'http://127.0.0.1:8000';

export default defineConfig({
  plugins: [react()],
  server: {
    port: 5173,
    strictPort: true,
    proxy: { '/api': api, '/health': api },
  },
  build: {
    target: 'es2022',
    sourcemap: false,
    // One file per page (React.lazy) plus the shell; React DOM alone is ~190 kB minified (~60 kB
    // gzipped), so warn past 260 kB. The gzipped budget is checked by tests/e2e/test_web_app.py.
    chunkSizeWarningLimit: 260,
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
  },
});
