import { defineConfig } from "@playwright/test";
import { backend, chromium, REPO } from "./e2e/server";

// A larger history (>= 10,000 detections: about 1,200 a simulated minute) for scrolling.
const server = backend("--backfill-min 12 --ready-timeout 150");

export default defineConfig({
  testDir: "bench",
  testMatch: "*.bench.ts",
  timeout: 180_000,
  workers: 1,
  reporter: [["list"]],
  outputDir: "test-results/bench-artifacts",
  use: {
    baseURL: server.url,
    browserName: "chromium",
    launchOptions: { executablePath: chromium(), args: ["--no-sandbox"] },
    viewport: { width: 1400, height: 900 },
  },
  webServer: {
    command: server.command,
    cwd: REPO,
    url: `${server.url}/health`,
    timeout: 180_000,
    reuseExistingServer: false,
    stdout: "ignore",
    stderr: "pipe",
    // SIGTERM to the server's process group: the city, the backend and its broker stop cleanly.
    gracefulShutdown: { signal: "SIGTERM", timeout: 15_000 },
  },
});
