import { defineConfig } from "@playwright/test";
import { backend, chromium, REPO } from "./e2e/server";

// The real backend (migrations, MQTT ingest, rules, WebSocket) fed live by the simulator;
// three simulated minutes of history are enough for every test and take seconds to ingest.
const server = backend("--backfill-min 3");

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
    timeout: 90_000,
    reuseExistingServer: false,
    stdout: "ignore",
    stderr: "pipe",
    // SIGTERM to the server's process group: the city, the backend and its broker stop cleanly.
    gracefulShutdown: { signal: "SIGTERM", timeout: 15_000 },
  },
});
