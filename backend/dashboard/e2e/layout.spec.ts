/**
 * What an operator sees, on every page, at a desktop (1440x900) and a phone (390x844),
 * in light and dark: no overlapping tiles, widgets or cards, nothing wider than the
 * screen, no console error or failed request, and values that are the API's (tiles,
 * queue schematic, consensus). Full-page screenshots of each go to $SHOTS_DIR
 * (default test-results/screenshots/layout/) to be looked at.
 */
import { mkdirSync } from "node:fs";
import { expect, test, type Page } from "@playwright/test";
import { apiGet, expectNoHorizontalOverflow, expectNoOverlap, expectTilesFit, login, openPage, overlaps, watchProblems } from "./helpers";

const SHOTS = process.env.SHOTS_DIR ?? "test-results/screenshots/layout";
mkdirSync(SHOTS, { recursive: true });

const VIEWPORTS = {
  desktop: { width: 1440, height: 900 },
  phone: { width: 390, height: 844 },
} as const;

interface Status {
  nodes: number;
  active_nodes: number;
  latency_ms_mean_last_min: number | null;
  power_w_mean_active: number | null;
}
interface QueueState {
  vehicles: number;
}
interface Intersection {
  intersection: string;
  queues: Record<string, QueueState>;
}
const ARM: Record<string, string> = { n: "N", north: "N", s: "S", south: "S", e: "E", east: "E", w: "W", west: "W" };

interface PageCheck {
  title: string;
  ready: (page: Page) => Promise<void>;
}

/** What each page must show once loaded, checked against the API where it has values
 * (the city map has its own tests, CITY_MAP below). */
const PAGES: PageCheck[] = [
  {
    title: "Overview",
    ready: async (page) => {
      await expect(page.getByTestId("tile-nodes")).toContainText("/ 12");
      await expect(page.getByTestId("widget-chart-detections").locator(".recharts-bar-rectangle").first()).toBeVisible();
      const s = await apiGet<Status>(page, "/api/system/status");
      await expect(page.getByTestId("tile-nodes")).toContainText(`${s.active_nodes} / ${s.nodes}`);
      // Node -> backend latency: received after sent, at the API and on the tile, which
      // shows the API's figure in a readable unit (both move: compared until they agree).
      const tileMs = async () => {
        const text = (await page.getByTestId("tile-latency").locator(".tile-value").textContent())!;
        const [, value, unit] = text.match(/^(-?[\d.]+) (ms|s|min|h)$/) ?? [];
        expect(unit, `latency tile "${text}"`).toBeDefined();
        return Number(value) * { ms: 1, s: 1000, min: 60_000, h: 3_600_000 }[unit as "ms"];
      };
      await expect
        .poll(async () => {
          const api = (await apiGet<Status>(page, "/api/system/status")).latency_ms_mean_last_min;
          expect(api).not.toBeNull();
          expect(api!).toBeGreaterThanOrEqual(0);
          const tile = await tileMs();
          expect(tile).toBeGreaterThanOrEqual(0);
          return Math.abs(tile - api!) <= Math.max(50, api! * 0.2);
        })
        .toBe(true);
      if (s.power_w_mean_active !== null) await expect(page.getByTestId("tile-energy").locator(".tile-value")).toHaveText(/^\d+\.\d\d W$/);
    },
  },
  {
    title: "Intersections",
    ready: async (page) => {
      await expect(page.getByTestId("intersection-i0000")).toBeVisible();
      await expectSchematicsMatch(page, "/api/intersections", (body) =>
        Object.fromEntries((body as { items: Intersection[] }).items.map((i) => [`intersection-${i.intersection}`, i.queues])),
      );
      // Each card charts the queue of every approach the API reports, one line each.
      const { items } = await apiGet<{ items: Intersection[] }>(page, "/api/intersections");
      for (const i of items) {
        const lines = page.getByTestId(`queue-history-${i.intersection}`).locator(".recharts-line");
        await expect(lines).toHaveCount(Object.keys(i.queues).length);
      }
    },
  },
  { title: "Edge nodes", ready: async (page) => void (await expect(page.getByTestId("nodes-table").locator("tbody tr")).toHaveCount(12)) },
  { title: "Detections & logs", ready: async (page) => void (await expect(page.getByTestId("row-count")).not.toContainText("loading")) },
  {
    title: "Consensus",
    ready: async (page) => {
      await expect(page.getByRole("heading", { name: "Rounds" })).toBeVisible();
      const summary = await apiGet<{ clusters: { cluster: string; views: number[] }[]; suspected: unknown[] }>(page, "/api/consensus/summary");
      for (const c of summary.clusters) {
        await expect(page.getByTestId(`views-${c.cluster}`)).toHaveText(new RegExp(`^${c.views.length} \\(views? ${c.views.join(", ")}\\)$`));
      }
      // The simulated city is honest: no node disagreed, and no round is styled as split.
      expect(summary.suspected).toEqual([]);
      const rounds = await apiGet<{ items: { conflicts: number }[] }>(page, "/api/consensus/rounds?limit=200");
      expect(rounds.items.every((r) => r.conflicts === 0)).toBe(true);
      await expect(page.locator("[data-testid^=round-] .warn")).toHaveCount(0);
    },
  },
  { title: "Analytics", ready: async (page) => void (await expect(page.getByTestId("series-chart").locator(".recharts-area").first()).toBeVisible()) },
  {
    title: "Alerts",
    ready: async (page) => {
      // The shipped rules are listed, and "open now" shows what the API says is open.
      const rules = await apiGet<{ name: string }[]>(page, "/api/alerts/rules");
      await expect(page.getByTestId("rules-table").locator("tbody tr")).toHaveCount(rules.length);
      // Both sides are read on every poll: the live city may open an alert meanwhile.
      const openInApi = async () => {
        let n = 0;
        for (const state of ["firing", "pending"]) n += (await apiGet<{ items: unknown[] }>(page, `/api/alerts?state=${state}`)).items.length;
        return n;
      };
      const rows = page.getByTestId("alerts-open").locator("tbody tr");
      await expect.poll(async () => (await rows.count()) - (await openInApi())).toBe(0);
      if ((await rows.count()) === 0) await expect(page.getByText("Nothing is firing or pending.")).toBeVisible();
    },
  },
  {
    title: "Playback",
    ready: async (page) => {
      // Two simulated minutes in, every node has sent a heartbeat and every arm a queue.
      const slider = page.getByLabel("playback position");
      await expect(slider).toBeVisible();
      const t = Math.round(Number(await slider.getAttribute("min")) + 120);
      const frame = page.waitForResponse((r) => {
        const u = new URL(r.url());
        return u.pathname === "/api/playback/frame" && Math.abs(Number(u.searchParams.get("t")) - t) < 2;
      });
      await slider.fill(String(t));
      const body = (await (await frame).json()) as { queues: Record<string, Record<string, QueueState>> };
      await expect(page.getByTestId("frame-nodes").locator("tbody tr")).toHaveCount(12);
      await expect(page.getByTestId("frame-i0000")).toBeVisible();
      expect(Object.keys(body.queues).length).toBeGreaterThan(0);
      for (const [place, queues] of Object.entries(body.queues)) {
        const labels = await page.getByTestId(`frame-${place}`).locator(".junction-label").allTextContents();
        for (const [approach, q] of Object.entries(queues)) {
          const arm = ARM[approach.toLowerCase()];
          if (arm) expect(labels, `${place} ${approach}`).toContain(`${arm} ${q.vehicles.toFixed(1)}`);
        }
      }
    },
  },
  { title: "Settings", ready: async (page) => void (await expect(page.getByRole("button", { name: "Save settings" })).toBeVisible()) },
];

/** Every compass arm the API reports shows that queue on the schematic, to one decimal.
 * The page polls; the check runs against a snapshot of one response served to it. */
async function expectSchematicsMatch(page: Page, path: string, cards: (body: unknown) => Record<string, Record<string, QueueState>>) {
  const body = await apiGet<unknown>(page, path);
  await page.route(`**${path}`, (route) => route.fulfill({ json: body }));
  const want = cards(body);
  await expect
    .poll(async () => {
      const got: string[] = [];
      for (const [card, queues] of Object.entries(want)) {
        const labels = await page.getByTestId(card).locator(".junction-label").allTextContents();
        for (const [approach, q] of Object.entries(queues)) {
          const arm = ARM[approach.toLowerCase()];
          if (arm && !labels.includes(`${arm} ${q.vehicles.toFixed(1)}`)) got.push(`${card} ${arm}: ${labels.join("|")} lacks ${q.vehicles.toFixed(1)}`);
        }
      }
      return got;
    })
    .toEqual([]);
  await page.unroute(`**${path}`);
}

/** What the city map must show: a camera marker for every node the API has placed (the
 * simulated city places them all), the legend, and a tooltip that stays on the screen. */
const CITY_MAP: PageCheck = {
  title: "City map",
  ready: async (page) => {
    const { items } = await apiGet<{ items: { node_id: string; location: { lat: number; lon: number } | null }[] }>(page, "/api/nodes?limit=1000");
    const placed = items.filter((n) => n.location !== null);
    expect(placed.length, "nodes with a location in GET /api/nodes").toBeGreaterThan(0);
    await expect(page.getByTestId("city-map").locator(".map-camera")).toHaveCount(placed.length);
    for (const n of placed) await expect(page.getByTestId(`camera-${n.node_id}`)).toBeVisible();
    await expect(page.getByTestId("map-legend")).toBeVisible();
    // The easternmost camera's tooltip, turned inwards, fits the screen.
    const xs = await page.locator(".map-camera").evaluateAll((els) => els.map((e) => [e.getAttribute("data-testid")!, Number(e.getAttribute("data-x"))] as const));
    const [east] = xs.reduce((a, b) => (b[1] > a[1] ? b : a));
    await page.getByTestId(east).hover();
    await expect(page.getByTestId("map-tip")).toContainText(east.replace("camera-", ""));
    await expectNoHorizontalOverflow(page);
    await page.mouse.move(0, 0);
    await expect(page.getByTestId("map-tip")).toHaveCount(0);
  },
};

/** A page's own checks once open, then the shared ones (no overlap, nothing past the right
 * edge), then its screenshot. */
async function checkPage(page: Page, p: PageCheck, width: number, scheme: string) {
  await openPage(page, p.title);
  await p.ready(page);
  await expect.poll(() => overlaps(page, ".grid"), { timeout: 5000 }).toEqual([]);
  await expectNoOverlap(page);
  await expectNoHorizontalOverflow(page);
  if (p.title === "Overview") await expectTilesFit(page);
  const file = p.title.toLowerCase().replace(/[^a-z]+/g, "-").replace(/-$/, "");
  // The same chart before and after the screenshot: nothing re-mounts the widgets
  // (a grid measured at 0 width once did, showing empty charts for a moment).
  const chart = p.title === "Overview" ? await page.$("[data-testid=widget-chart-detections] .recharts-surface") : null;
  await page.screenshot({ path: `${SHOTS}/${file}-${width}-${scheme}.png`, fullPage: true });
  if (chart) expect(await chart.evaluate((e) => e.isConnected), "overview widgets re-mounted").toBe(true);
}

for (const [vp, size] of Object.entries(VIEWPORTS)) {
  for (const scheme of ["light", "dark"] as const) {
    test.describe(`${vp} ${size.width}x${size.height} ${scheme}`, () => {
      test.use({ viewport: size, colorScheme: scheme });

      test(`every page: no overlap, no overflow, no error, values from the API`, async ({ page }) => {
        test.setTimeout(240_000);
        const problems = watchProblems(page);
        await login(page, "viewer");
        for (const p of PAGES) await checkPage(page, p, size.width, scheme);
        expect(problems).toEqual([]);
      });

      test(`city map: a marker per placed node, no overlap, no overflow, no error`, async ({ page }) => {
        const problems = watchProblems(page);
        await login(page, "viewer");
        await checkPage(page, CITY_MAP, size.width, scheme);
        expect(problems).toEqual([]);
      });
    });
  }
}

test.describe("overview grid", () => {
  test.use({ viewport: VIEWPORTS.desktop });

  test("fills the width, follows a resize, and survives navigating away and a reset", async ({ page }) => {
    const problems = watchProblems(page);
    await login(page, "operator");
    await expect(page.getByTestId("tile-nodes")).toContainText("/ 12");
    const fills = async (width: number) => {
      await expect.poll(() => overlaps(page, ".grid"), { timeout: 5000 }).toEqual([]);
      // The widgets reach the grid's right edge (less its 10 px padding), within the window.
      await expect
        .poll(() =>
          page.evaluate(() => {
            const grid = document.querySelector(".grid")!.getBoundingClientRect();
            const right = Math.max(...[...document.querySelectorAll(".react-grid-item")].map((e) => e.getBoundingClientRect().right));
            return { gap: Math.round(grid.right - right), right: Math.round(right) };
          }),
        )
        .toEqual({ gap: 10, right: width - 16 - 10 });
    };
    await fills(1440);
    await page.setViewportSize({ width: 1000, height: 900 });
    await fills(1000);
    await page.setViewportSize({ width: 1440, height: 900 });
    await fills(1440);
    await openPage(page, "Edge nodes");
    await openPage(page, "Overview");
    await fills(1440);
    await page.getByTestId("customise").click();
    await page.getByRole("button", { name: "Reset layout" }).click();
    await page.getByTestId("customise").click();
    await fills(1440);
    expect(problems).toEqual([]);
  });
});

test.describe("theme, icon and phone menu", () => {
  test("dark follows the system until chosen; the choice is kept across reloads", async ({ browser }) => {
    const ctx = await browser.newContext({ colorScheme: "dark", viewport: VIEWPORTS.desktop });
    const page = await ctx.newPage();
    const problems = watchProblems(page);
    await login(page, "viewer");
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const luminance = (rgb: string) => {
      const [r, g, b] = rgb.match(/\d+/g)!.map(Number);
      return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
    };
    expect(luminance(await background())).toBeLessThan(0.25);
    await page.getByRole("button", { name: /switch to light/i }).click();
    await expect.poll(async () => luminance(await background())).toBeGreaterThan(0.8);
    expect(await page.evaluate(() => localStorage.getItem("edgeqi-theme"))).toBe("light");
    await page.reload();
    await expect(page.getByTestId("whoami")).toBeVisible();
    expect(luminance(await background())).toBeGreaterThan(0.8);
    await page.getByRole("button", { name: /switch to dark/i }).click();
    await expect.poll(async () => luminance(await background())).toBeLessThan(0.25);
    expect(problems).toEqual([]);
    await ctx.close();
  });

  test("the favicon is the app's SVG and loads", async ({ page }) => {
    const problems = watchProblems(page);
    await page.goto("/");
    const href = await page.locator('link[rel="icon"]').getAttribute("href");
    expect(href).toMatch(/\.svg$/);
    const r = await page.request.get(href!);
    expect(r.status()).toBe(200);
    expect(r.headers()["content-type"]).toContain("image/svg+xml");
    await page.waitForLoadState("networkidle");
    expect(problems).toEqual([]);
  });

  test("at phone width the menu collapses behind a button", async ({ page }) => {
    await page.setViewportSize(VIEWPORTS.phone);
    const problems = watchProblems(page);
    await login(page, "viewer");
    const nav = page.getByRole("navigation");
    const menu = page.getByRole("button", { name: "Menu" });
    await expect(menu).toBeVisible();
    await expect(menu).toHaveAttribute("aria-expanded", "false");
    await expect(nav.getByRole("link", { name: "Consensus" })).toBeHidden();
    expect((await nav.boundingBox())!.height).toBeLessThan(64);
    await menu.click();
    await expect(menu).toHaveAttribute("aria-expanded", "true");
    await expect(nav.getByRole("link", { name: "Consensus" })).toBeVisible();
    await expectNoHorizontalOverflow(page);
    await nav.getByRole("link", { name: "Consensus" }).click();
    await expect(page.getByRole("heading", { level: 2, name: "Consensus" })).toBeVisible();
    await expect(nav.getByRole("link", { name: "Consensus" })).toBeHidden();
    await expectNoHorizontalOverflow(page);
    expect(problems).toEqual([]);
  });
});

test.describe("global time range", () => {
  test.use({ viewport: VIEWPORTS.desktop });

  test("one range for every historical page, kept in the address across a reload", async ({ page }) => {
    const problems = watchProblems(page);
    await login(page, "viewer");
    await openPage(page, "Detections & logs");
    const range = page.getByRole("group", { name: "time range" });
    await expect(range.getByRole("button", { name: "1h" })).toHaveAttribute("aria-pressed", "true"); // the site's default
    const detections = page.waitForRequest((r) => r.url().includes("/api/detections?") && r.url().includes("since="));
    await range.getByRole("button", { name: "15m" }).click();
    const since = Number(new URL((await detections).url()).searchParams.get("since"));
    expect(Math.abs(since - (Date.now() / 1000 - 900))).toBeLessThan(60);
    await expect(page).toHaveURL(/[?&]range=15m/);
    for (const title of ["Analytics", "Consensus", "Alerts"]) {
      await openPage(page, title);
      await expect(page).toHaveURL(/[?&]range=15m/);
      await expect(page.getByRole("group", { name: "time range" }).getByRole("button", { name: "15m" })).toHaveAttribute("aria-pressed", "true");
    }
    await page.reload();
    await expect(page.getByRole("group", { name: "time range" }).getByRole("button", { name: "15m" })).toHaveAttribute("aria-pressed", "true");
    await page.getByRole("group", { name: "time range" }).getByRole("button", { name: "all" }).click();
    await openPage(page, "Analytics");
    await expect(page).toHaveURL(/[?&]range=all/);
    expect(problems).toEqual([]);
  });
});
