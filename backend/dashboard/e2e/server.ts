/**
 * Where the end-to-end backend runs: a free loopback port and a private SQLite file,
 * chosen once in the main Playwright process and handed to workers via the environment.
 * The server (experiments/loadtest/dashboard_server.py) starts its own Mosquitto and the simulated
 * city, and answers only once the city's backfilled history is stored.
 */
import { execFileSync, execSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const PYTHON = process.env.EDGEQI_PYTHON ?? join(REPO, ".venv/bin/python");
export const PASSWORD = "edgeqi-e2e-pass";

function freePort(): string {
  return execFileSync(PYTHON, ["-c", "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])"]).toString().trim();
}

export function chromium(): string {
  const path = process.env.CHROMIUM_PATH ?? execSync("command -v chromium || command -v chromium-browser || true").toString().trim();
  if (!path) throw new Error("Debian's chromium is required (apt-get install chromium, or set CHROMIUM_PATH)");
  return path;
}

export function backend(extra = ""): { url: string; command: string } {
  process.env.E2E_PORT ??= freePort();
  process.env.E2E_DIR ??= mkdtempSync(join(tmpdir(), "edgeqi-e2e-"));
  const port = process.env.E2E_PORT;
  const db = `sqlite:///${join(process.env.E2E_DIR, "e2e.db")}`;
  return {
    url: `http://127.0.0.1:${port}`,
    command: `${PYTHON} -m experiments.loadtest.dashboard_server --port ${port} --database ${db} --password ${PASSWORD} ${extra}`,
  };
}
