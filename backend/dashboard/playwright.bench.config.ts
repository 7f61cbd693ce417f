import { defineConfig } from "@playwright/test";
import { backend, chromium, REPO } from "./e2e/server";

// A larger history (>= 10,000 detections) for the scrolling benchmark.
const server = backend("--backfill-min 20 --backfill-step 3 --period 1");

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
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: "ignore",
    stderr: "pipe",
  },
});
