/**
 * The dashboard in Debian's Chromium against the real backend fed by the simulator: a
 * small city (3 intersections x 4 cameras, n00000..n00011 at i0000..i0002) whose nodes
 * publish over a private Mosquitto into the backend's MQTT ingest, with PBFT among each
 * intersection's cameras (experiments/loadtest/dashboard_server.py). Login, live tiles, layout
 * persistence, filters, exports, an alert rule firing, viewer restrictions, playback and
 * consensus. Screenshots go to test-results/screenshots/.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { expect, test, type Page } from "@playwright/test";
import { token } from "./helpers";
import { PASSWORD, PYTHON } from "./server";

const shot = (page: Page, name: string) => page.screenshot({ path: `test-results/screenshots/${name}.png`, fullPage: true });

async function login(page: Page, user: string, password = PASSWORD) {
  await page.goto("/");
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("login: a wrong password is refused, the right one signs in with the role", async ({ page }) => {
  await login(page, "viewer", "not-the-password");
  await expect(page.getByRole("alert")).toContainText("Invalid username or password");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("whoami")).toHaveText("viewer (viewer)");
  await shot(page, "01-login-overview");
});

test("overview tiles change live and the layout is saved per user", async ({ page }) => {
  // The detections chart bins what the socket pushes while the page is open: wait for one
  // pushed batch with detections (however long the city takes to send one), then its bar.
  const detectionPushed = page.waitForEvent("websocket").then((ws) =>
    ws.waitForEvent("framereceived", {
      predicate: (f) => {
        const msg = JSON.parse(String(f.payload)) as { topic: string; data: { count?: number } };
        return msg.topic === "detections" && (msg.data.count ?? 0) > 0;
      },
      timeout: 45_000,
    }),
  );
  await login(page, "operator");
  const tile = page.getByTestId("tile-nodes");
  await expect(tile).toContainText("12 / 12");
  const detections = page.getByTestId("tile-detections");
  await expect(detections).not.toContainText("waiting");
  const first = await detections.locator(".tile-sub").textContent();
  // detections_total grows with every live batch; the socket pushes status every 2 s.
  await expect.poll(async () => detections.locator(".tile-sub").textContent(), { timeout: 15_000 }).not.toBe(first);
  await detectionPushed;
  await expect(page.getByTestId("widget-chart-detections").locator(".recharts-bar-rectangle").first()).toBeVisible();
  await shot(page, "02-overview-live");

  await page.getByTestId("customise").click();
  await page.getByLabel("show Energy").uncheck();
  await expect(page.getByTestId("widget-energy")).toHaveCount(0);
  await page.waitForResponse((r) => r.url().endsWith("/api/dashboard/settings/user") && r.ok());
  await page.reload();
  await expect(page.getByTestId("widget-nodes")).toBeVisible();
  await expect(page.getByTestId("widget-energy")).toHaveCount(0);
  // Another user's layout is separate.
  await page.getByRole("button", { name: "Sign out" }).click();
  await login(page, "viewer");
  await expect(page.getByTestId("widget-energy")).toBeVisible();
});

test("nodes: search, sort and the detail panel's history", async ({ page }) => {
  await login(page, "viewer");
  await page.getByRole("link", { name: "Edge nodes" }).click();
  const rows = page.getByTestId("nodes-table").locator("tbody tr");
  await expect(rows).toHaveCount(12);
  await page.getByLabel("search nodes").fill("i0001");
  await expect(rows).toHaveCount(4);
  await expect(rows.first()).toContainText("n00004");
  await rows.nth(1).click();
  await expect(page.getByTestId("node-detail")).toContainText("n00005");
  await expect(page.getByTestId("node-detail").locator(".recharts-line").first()).toBeVisible();
  await shot(page, "03-nodes");
});

test("city map: a camera opens its node's detail, a junction its intersection card, from the keyboard too", async ({ page }) => {
  await login(page, "viewer");
  await page.getByRole("link", { name: "City map" }).click();
  await expect(page.locator(".map-camera")).toHaveCount(12);
  await page.getByTestId("camera-n00005").locator(".map-dot").click();
  await expect(page).toHaveURL(/\/nodes\?node=n00005$/);
  await expect(page.getByTestId("node-detail")).toContainText("n00005");
  await expect(page.getByTestId("node-detail").locator(".recharts-line").first()).toBeVisible();
  await page.goBack();
  const junction = page.getByTestId("junction-i0001");
  await junction.focus();
  await expect(page.getByTestId("map-tip")).toContainText("i0001 · 4 cameras");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/intersections\?intersection=i0001$/);
  await expect(page.getByTestId("intersection-i0001")).toHaveClass(/chosen/);
  await expect(page.getByTestId("intersection-i0000")).not.toHaveClass(/chosen/);
  await shot(page, "03b-map-link");
});

test("detections: debounced filters narrow the virtual list and exports hold the filtered set", async ({ page }) => {
  await login(page, "viewer");
  await page.getByRole("link", { name: "Detections & logs" }).click();
  const count = page.getByTestId("row-count");
  await expect(count).not.toContainText("loading");
  const total = Number((await count.textContent())!.split(" ")[0].replace(/,/g, ""));
  expect(total).toBeGreaterThan(1000);
  // Only the visible window of rows is in the DOM.
  expect(await page.getByTestId("vrow").count()).toBeLessThan(80);

  // The simulated cameras detect cars (and emergency vehicles when one passes).
  await page.getByLabel("node filter").fill("n00001");
  await page.getByLabel("class filter").fill("car");
  const matching = async () => {
    const texts = await page.getByTestId("vrow").allTextContents();
    return texts.length > 0 && texts.every((t) => t.includes("n00001") && t.includes("car"));
  };
  await expect.poll(matching).toBe(true);
  await expect(count).not.toContainText("loading");
  expect(await matching()).toBe(true);
  const filtered = Number((await count.textContent())!.split(" ")[0].replace(/,/g, ""));
  expect(filtered).toBeGreaterThan(0);
  expect(filtered).toBeLessThan(total);
  await shot(page, "04-detections-filtered");

  const csvDl = page.waitForEvent("download");
  await page.getByRole("button", { name: "Export CSV" }).click();
  const csv = readFileSync((await (await csvDl).path())!, "utf8").trim().split(/\r?\n/);
  expect(csv[0]).toBe("id,node_id,seq,idx,ts_ms,received_ms,intersection,cls,conf,x,y,w,h,track");
  expect(csv.length).toBeGreaterThan(1);
  for (const line of csv.slice(1)) {
    const cols = line.split(",");
    expect(cols[1]).toBe("n00001");
    expect(cols[7]).toBe("car");
  }

  const jsonDl = page.waitForEvent("download");
  await page.getByRole("button", { name: "Export JSON" }).click();
  const rows = JSON.parse(readFileSync((await (await jsonDl).path())!, "utf8")) as { node_id: string; cls: string }[];
  expect(rows.length).toBeGreaterThanOrEqual(csv.length - 1);
  expect(rows.every((r) => r.node_id === "n00001" && r.cls === "car")).toBe(true);

  const xlsxDl = page.waitForEvent("download");
  await page.getByRole("button", { name: "Export XLSX" }).click();
  const download = await xlsxDl;
  const xlsx = `test-results/exports/${download.suggestedFilename()}`;
  expect(xlsx).toMatch(/\.xlsx$/);
  await download.saveAs(xlsx);
  const check = "import openpyxl,sys,json;ws=openpyxl.load_workbook(sys.argv[1],read_only=True).active;r=list(ws.values);print(json.dumps([r[0][1],r[0][7],len(r)-1,sorted({x[1] for x in r[1:]}),sorted({x[7] for x in r[1:]})]))";
  const [h1, h7, n, nodes, classes] = JSON.parse(execFileSync(PYTHON, ["-c", check, xlsx]).toString());
  expect([h1, h7]).toEqual(["node_id", "cls"]);
  expect(n).toBeGreaterThanOrEqual(csv.length - 1);
  expect(nodes).toEqual(["n00001"]);
  expect(classes).toEqual(["car"]);
});

test("viewers cannot change rules or settings, in the UI or at the API", async ({ page }) => {
  await login(page, "viewer");
  await page.getByRole("link", { name: "Alerts" }).click();
  await expect(page.getByText("Viewers can read rules but not change them.")).toBeVisible();
  await expect(page.getByRole("button", { name: "New rule" })).toHaveCount(0);
  await page.getByRole("link", { name: "Settings" }).click();
  await expect(page.getByRole("button", { name: "Save settings" })).toBeDisabled();
  const token = await page.evaluate(() => JSON.parse(localStorage.getItem("edgeqi-auth")!).state.access as string);
  const headers = { Authorization: `Bearer ${token}` };
  const site = await page.request.put("/api/dashboard/settings/site", { headers, data: { site_name: "hacked" } });
  expect(site.status()).toBe(403);
  const rule = await page.request.post("/api/alerts/rules", { headers, data: { name: "x", metric: "queue.vehicles", threshold: 1 } });
  expect(rule.status()).toBe(403);
});

test("an operator's rule fires on live data and the alert appears", async ({ page }) => {
  await login(page, "operator");
  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByLabel("site name").fill("EDGE-QI e2e city");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByRole("status")).toHaveText("Saved.");
  await page.reload();
  await expect(page.locator(".brand")).toHaveText("EDGE-QI e2e city");

  await page.getByRole("link", { name: "Alerts" }).click();
  await page.getByRole("button", { name: "New rule" }).click();
  await page.getByLabel("rule name").fill("e2e long queue");
  await page.getByLabel("metric").selectOption("queue.vehicles");
  await page.getByLabel("operator").selectOption(">=");
  await page.getByLabel("threshold").fill("0");
  await page.getByLabel("rule node").fill("n00008");
  await page.getByLabel("severity").selectOption("critical");
  await page.getByLabel("cooldown").fill("3600");
  await page.getByRole("button", { name: "Create rule" }).click();
  await expect(page.getByTestId("rules-table")).toContainText("queue.vehicles >= 0");
  await expect(page.getByTestId("alert-history")).toContainText("n00008", { timeout: 20_000 });
  // Firing now, named by intersection and approach, until someone acknowledges it.
  const open = page.getByTestId("alerts-open").locator("tr", { hasText: "e2e long queue" }).first();
  await expect(open).toContainText("firing");
  await expect(open).toContainText(/i\d{4} approach [NSEW] · n00008/);
  await page.getByRole("link", { name: "Overview" }).click();
  await expect(page.getByTestId("alerts-firing")).toContainText("n00008");
  await shot(page, "05-alert-fired");
  await page.getByRole("link", { name: "Alerts" }).click();
  await open.getByRole("button", { name: "Acknowledge" }).click();
  await expect(open).toContainText("operator, ");
  const headers = { Authorization: `Bearer ${await token(page)}` };
  const acked = await (await page.request.get("/api/alerts?acknowledged=true&node_id=n00008", { headers })).json();
  expect(acked.items[0].acknowledged_by).toBe("operator");
  // Silencing it from its row prefills the rule and the series; the silence is listed, by whom.
  await open.getByRole("button", { name: "Silence…" }).click();
  await expect(page.getByLabel("silence node")).toHaveValue("n00008");
  await page.getByLabel("silence comment").fill("e2e maintenance");
  await page.getByRole("button", { name: "Silence", exact: true }).click();
  const silence = page.getByTestId("silences").locator("tr", { hasText: "e2e maintenance" });
  await expect(silence).toContainText("rule e2e long queue, node n00008");
  await expect(silence).toContainText("operator");
  await silence.getByRole("button", { name: "Expire" }).click();
  await expect(silence).toContainText("expired");
});

test("an emptied threshold is refused, in the form and at the API, never taken as 0", async ({ page }) => {
  await login(page, "operator");
  await page.getByRole("link", { name: "Alerts" }).click();
  await page.getByRole("button", { name: "New rule" }).click();
  await page.getByLabel("rule name").fill("no threshold");
  await page.getByLabel("threshold").fill("");
  await page.getByRole("button", { name: "Create rule" }).click();
  await expect(page.getByRole("alert")).toHaveText("threshold is required");
  await expect(page.getByTestId("rules-table")).not.toContainText("no threshold");
  const headers = { Authorization: `Bearer ${await token(page)}` };
  for (const threshold of ["", null]) {
    const r = await page.request.post("/api/alerts/rules", { headers, data: { name: "no threshold", metric: "queue.vehicles", threshold } });
    expect(r.status()).toBe(422);
  }
  // The shipped rules are there for a new operator, with their "for" times.
  await expect(page.getByTestId("rules-table")).toContainText("heartbeat.battery_soc < 0.2");
  await expect(page.getByTestId("rules-table").locator("tr", { hasText: "battery low" })).toContainText("300s");
});

test("playback scrubs the stored range and plays forward", async ({ page }) => {
  await login(page, "viewer");
  await page.getByRole("link", { name: "Playback" }).click();
  const label = page.getByTestId("playback-time");
  const slider = page.getByLabel("playback position");
  await expect(slider).toBeVisible();
  const min = Number(await slider.getAttribute("min"));
  // Two simulated minutes in, every node has sent a heartbeat (every 30 s).
  await slider.fill(String(Math.round(min + 120)));
  const scrubbed = await label.textContent();
  await expect(page.getByTestId("frame-nodes").locator("tbody tr")).toHaveCount(12);
  await expect(page.getByTestId("frame-i0000")).toBeVisible();
  await expect(page.getByTestId("frame-nodes").locator("tbody tr").first()).toContainText("n00000");
  await page.getByLabel("speed").selectOption("60");
  await page.getByTestId("play").click();
  await expect(label).not.toHaveText(scrubbed!);
  await page.getByTestId("play").click();
  await shot(page, "06-playback");
});

test("every page renders without an error boundary tripping", async ({ page }) => {
  await login(page, "admin");
  for (const [link, name] of [["Intersections", "07-intersections"], ["Consensus", "08-consensus"], ["Analytics", "09-analytics"]] as const) {
    await page.getByRole("link", { name: link }).click();
    await expect(page.getByRole("heading", { name: link, exact: true })).toBeVisible();
    await expect(page.locator(".error-box")).toHaveCount(0);
    if (link === "Intersections") await expect(page.getByTestId("intersection-i0001")).toContainText("n00006");
    if (link === "Consensus") {
      // PBFT rounds of the simulated cameras, stored from their signed messages.
      await expect(page.getByRole("heading", { name: "Rounds" })).toBeVisible();
      const round = page.locator("tr.sortable", { hasText: "i0001" }).first();
      await round.click();
      await expect(page.getByRole("heading", { name: /^Votes in i0001/ })).toBeVisible();
      await expect(page.locator(".detail tbody tr").first()).toContainText(/n0000[4-7]/);
    }
    if (link === "Analytics") await expect(page.getByTestId("series-chart").locator(".recharts-area").first()).toBeVisible();
    await shot(page, name);
  }
});
