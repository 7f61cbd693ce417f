/**
 * What the layout tests check on every page: nothing overlaps its siblings, nothing
 * sticks out sideways, no console error and no failed request.
 */
import { expect, type Page } from "@playwright/test";
import { PASSWORD } from "./server";

export async function login(page: Page, user: string, password = PASSWORD): Promise<void> {
  await page.goto("/");
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("whoami")).toBeAttached();
}

/** The bearer token the signed-in page holds, for asking the API what the page should show. */
export async function token(page: Page): Promise<string> {
  return page.evaluate(() => JSON.parse(localStorage.getItem("edgeqi-auth")!).state.access as string);
}

export async function apiGet<T>(page: Page, path: string): Promise<T> {
  const r = await page.request.get(path, { headers: { Authorization: `Bearer ${await token(page)}` } });
  expect(r.ok(), `${path}: ${r.status()}`).toBe(true);
  return (await r.json()) as T;
}

/** Collects console errors, uncaught exceptions, failed requests and HTTP errors. */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console error: ${m.text()} (${m.location().url})`);
  });
  page.on("pageerror", (e) => problems.push(`uncaught: ${e.message}`));
  page.on("requestfailed", (r) => {
    const error = r.failure()?.errorText ?? "";
    // The browser cancels in-flight fetches when the page reloads or navigates away; that
    // is the page's own doing, not a failure of the server (which the response check sees).
    if (error === "net::ERR_ABORTED") return;
    problems.push(`request failed: ${r.method()} ${r.url()} ${error}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  return problems;
}

/** Open a page from the navigation, through the menu button where it is collapsed. */
export async function openPage(page: Page, title: string): Promise<void> {
  const menu = page.getByRole("button", { name: "Menu" });
  if (await menu.isVisible()) {
    await menu.click();
    await expect(page.getByRole("navigation").getByRole("link", { name: title, exact: true })).toBeVisible();
  }
  await page.getByRole("navigation").getByRole("link", { name: title, exact: true }).click();
  await expect(page.getByRole("heading", { level: 2, name: title, exact: true })).toBeVisible();
}

interface Box {
  name: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Boxes of the visible children of every element matching ``selector``, one list per parent. */
async function siblingBoxes(page: Page, selector: string): Promise<Box[][]> {
  return page.evaluate((sel) => {
    const name = (e: Element, i: number) =>
      `${e.tagName.toLowerCase()}${e.getAttribute("data-testid") ? `[${e.getAttribute("data-testid")}]` : ""}${e.className && typeof e.className === "string" ? `.${e.className.trim().split(/\s+/).join(".")}` : ""}#${i} "${(e.textContent ?? "").trim().slice(0, 30)}"`;
    return [...document.querySelectorAll(sel)].map((parent) =>
      [...parent.children]
        .map((e, i) => {
          const r = e.getBoundingClientRect();
          const s = getComputedStyle(e);
          return { name: name(e, i), x: r.x, y: r.y, w: r.width, h: r.height, hidden: s.visibility === "hidden" || s.display === "none" || s.position === "fixed" };
        })
        .filter((b) => !b.hidden && b.w > 0 && b.h > 0)
        .map(({ name, x, y, w, h }) => ({ name, x, y, w, h })),
    );
  }, selector);
}

/** Pairs of siblings whose boxes overlap by more than a pixel either way. */
export async function overlaps(page: Page, selector: string): Promise<string[]> {
  const out: string[] = [];
  for (const boxes of await siblingBoxes(page, selector)) {
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i];
        const b = boxes[j];
        const ox = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
        const oy = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
        if (ox > 1 && oy > 1) out.push(`${a.name} overlaps ${b.name} (${Math.round(ox)}x${Math.round(oy)} px)`);
      }
    }
  }
  return out;
}

/** Containers whose children must never overlap: the page itself, toolbars, the
 * navigation, the overview grid, cards, a card's schematic and its text, tiles, the city
 * map and its legend. */
export const SIBLING_GROUPS = [".main > div", ".toolbar", ".nav-links", ".grid", ".cards", ".card-row", ".with-detail", ".tile", ".time-range", ".map-layout"];

export async function expectNoOverlap(page: Page): Promise<void> {
  const found: string[] = [];
  for (const sel of SIBLING_GROUPS) found.push(...(await overlaps(page, sel)).map((o) => `${sel}: ${o}`));
  expect(found, "overlapping siblings").toEqual([]);
}

/** Neither the page nor any element reaches past the right edge of the viewport. */
export async function expectNoHorizontalOverflow(page: Page): Promise<void> {
  const { scrollWidth, width, wide } = await page.evaluate(() => {
    const w = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll(".main *, .nav *")]
      .filter((e) => {
        const r = e.getBoundingClientRect();
        if (r.width === 0 || r.right <= w + 1) return false;
        // Inside a horizontal scroller (a wide table, the detection list) is fine.
        for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
          const s = getComputedStyle(p);
          if ((s.overflowX === "auto" || s.overflowX === "scroll" || s.overflowX === "hidden") && p.getBoundingClientRect().right <= w + 1) return false;
        }
        return true;
      })
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}.${String(e.className)} right=${Math.round(e.getBoundingClientRect().right)}`);
    return { scrollWidth: document.scrollingElement!.scrollWidth, width: innerWidth, wide };
  });
  expect(wide, "elements past the right edge").toEqual([]);
  expect(scrollWidth, "page scroll width").toBeLessThanOrEqual(width);
}

/** Tiles show their whole text: a tile's body does not need to scroll or clip. */
export async function expectTilesFit(page: Page): Promise<void> {
  const clipped = await page.evaluate(() =>
    [...document.querySelectorAll(".widget-body")]
      .filter((b) => b.querySelector(".tile") && (b.scrollHeight > b.clientHeight + 1 || b.scrollWidth > b.clientWidth + 1))
      .map((b) => b.closest("[data-testid]")?.getAttribute("data-testid")),
  );
  expect(clipped, "tiles whose text does not fit").toEqual([]);
}
