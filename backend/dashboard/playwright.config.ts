import { defineConfig } from "@playwright/test";
import { backend, chromium, REPO } from "./e2e/server";

// The real backend (migrations, ingest, rules, WebSocket) fed live by the city feed.
const server = backend("--backfill-min 10 --backfill-step 5 --period 1");

export default defineConfig({
  testDir: "e2e",
  testMatch: "*.spec.ts",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  outputDir: "test-results/artifacts",
  use: {
    baseURL: server.url,
    browserName: "chromium",
    launchOptions: { executablePath: chromium(), args: ["--no-sandbox"] },
    viewport: { width: 1400, height: 900 },
    acceptDownloads: true,
    trace: "off",
  },
  webServer: {
    command: server.command,
    cwd: REPO,
    url: `${server.url}/health`,
    timeout: 60_000,
    reuseExistingServer: false,
    stdout: "ignore",
    stderr: "pipe",
  },
});
