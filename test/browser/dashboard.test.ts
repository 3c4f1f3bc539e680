/**
 * The MSSP dashboard in real Chromium: an operator signs in, walks the seeded tree and does the
 * day's work — override and lock config, grant and revoke, create and move a tenant (dialog, drag,
 * keyboard), rotate a key, retry a failed webhook, move a tenant to its own schema, view as a
 * tenant, read the audit trail. Each journey is checked with axe-core (no serious or critical
 * violations) and a screenshot compared with its committed baseline.
 */
import type { AddressInfo } from "node:net";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDashboard, DEMO_OPERATOR, type Dashboard } from "../../examples/dashboard/server.js";
import { createTestDatabase, type TestDatabase } from "../harness/database.js";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.js";
import { seriousViolations } from "./support/axe.js";
import { launchChromium, type Browser } from "./support/chromium.js";
import { dashboardTestClient } from "./support/dashboard-client.js";
import { captureAndCompare, VISUAL_TOLERANCE } from "./support/visual.js";

let db: TestDatabase;
let client: ReturnType<typeof dashboardTestClient>;
let receiver: WebhookReceiver;
let dashboard: Dashboard;
let browser: Browser;
let page: Page;
let url: string;

const JOURNEY = 90_000;

beforeAll(async () => {
  db = await createTestDatabase({ label: "browser_dash" });
  client = dashboardTestClient(db);
  receiver = await startWebhookReceiver();
  // Shared tables only: the journeys are about the console, not about schema DDL.
  dashboard = await createDashboard({ prisma: client.prisma, apiKey: "sk_test_browser_journeys_bootstrap", seed: { schemaTenants: false } });
  await dashboard.app.listen({ port: 0, host: "127.0.0.1" });
  url = `http://127.0.0.1:${(dashboard.app.server.address() as AddressInfo).port}`;
  browser = await launchChromium();
  page = browser.page;
});

afterAll(async () => {
  await browser?.close();
  await dashboard?.app.close();
  await client?.close();
  await receiver?.close();
  await db?.drop();
});

/** Accessibility and the visual baseline, the same way for every journey. */
async function checkpoint(name: string): Promise<void> {
  expect(await seriousViolations(page)).toEqual([]);
  const visual = await captureAndCompare(page, name);
  expect(visual.ratio, `${name}: share of pixels differing from test/browser/baselines/${name}.png`).toBeLessThanOrEqual(VISUAL_TOLERANCE);
}

const tree = () => page.getByRole("tree", { name: "Tenant hierarchy" });
const treeItem = (name: string) => tree().getByRole("treeitem", { name, exact: true });
const tab = (name: string) => page.getByRole("tab", { name, exact: true });
const status = (text: string | RegExp) => page.getByRole("status").filter({ hasText: text });

/** Opens a branch with the keyboard, as the WAI-ARIA tree pattern has it. */
async function expand(name: string): Promise<void> {
  const item = treeItem(name);
  await item.waitFor();
  if ((await item.getAttribute("aria-expanded")) !== "false") return;
  await item.focus();
  await page.keyboard.press("ArrowRight");
  await tree()
    .locator(`[role=treeitem][aria-expanded=true]`)
    .filter({ has: page.getByText(name, { exact: true }) })
    .first()
    .waitFor();
}

/** Opens the tree down to `path` (names, root first) and selects the last one. */
async function select(...path: string[]): Promise<void> {
  for (const name of path.slice(0, -1)) await expand(name);
  await treeItem(path[path.length - 1]!)
    .locator(".stratum-tree-name")
    .first()
    .click();
  await page.getByRole("heading", { level: 1, name: path[path.length - 1]! }).waitFor();
}

/** The tenant the tree draws `name` under: the nearest item above it one level up. */
async function parentInTree(name: string): Promise<string | null> {
  return tree().evaluate((ul, wanted) => {
    const items = Array.from(ul.querySelectorAll<HTMLElement>("[role=treeitem]"));
    const nameOf = (li: HTMLElement) => li.querySelector(".stratum-tree-name")?.textContent ?? "";
    const at = items.findIndex((li) => nameOf(li) === wanted);
    const level = Number(items[at]?.getAttribute("aria-level"));
    for (let i = at - 1; i >= 0; i--) if (Number(items[i]!.getAttribute("aria-level")) === level - 1) return nameOf(items[i]!);
    return null;
  }, name);
}

/** How far the page, and each table of the tab panel, sticks out past the main column (px). */
const overflow = () =>
  page.evaluate(() => ({
    page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    tables: Array.from(document.querySelectorAll(".stratum-tabpanel table")).map(
      (t) => t.getBoundingClientRect().right - document.querySelector(".console-main")!.getBoundingClientRect().right,
    ),
  }));

/** Set before an action, read after: still there means the page was not reloaded in between. */
const markPage = () => page.evaluate(() => Reflect.set(window, "__stratumSamePage", true));
const samePage = () => page.evaluate(() => Reflect.get(window, "__stratumSamePage") === true);

describe("MSSP dashboard in Chromium", () => {
  it(
    "signs in with email and password; the page never holds an API key",
    async () => {
      await page.goto(url);
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      await checkpoint("sign-in");
      const html = await page.content();
      expect(html).not.toContain(dashboard.apiKey);

      await page.getByLabel("Work email").fill(DEMO_OPERATOR.email);
      await page.getByLabel("Password").fill("wrong password");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("alert").filter({ hasText: "Unknown email or wrong password." }).waitFor();

      await page.getByLabel("Password").fill(DEMO_OPERATOR.password);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("heading", { name: `Welcome, ${DEMO_OPERATOR.name}` }).waitFor();
      const cookies = await browser.context.cookies(url);
      expect(cookies.find((c) => c.name === "stratum_dashboard_session")).toMatchObject({ httpOnly: true, sameSite: "Strict" });
      // The control plane itself still wants a key: the session only opens the dashboard's proxy.
      expect((await page.request.get(`${url}/api/v1/tenants`)).status()).toBe(401);
      expect((await page.request.get(`${url}/ui/api/v1/tenants?roots=true`)).status()).toBe(200);
    },
    JOURNEY,
  );

  it(
    "picks NorthStar MSP: its clients, who overrides max_users, and who locked theme",
    async () => {
      await select("AcmeSec", "NorthStar MSP");
      await expand("NorthStar MSP");
      const overview = page.getByRole("region", { name: "MSP view of NorthStar MSP" });
      await overview.waitFor();
      const row = (name: string) => overview.getByRole("row", { name: new RegExp(`^${name} `) });
      expect(await row("Client Alpha").getByRole("cell").allTextContents()).toEqual(["active", "SHARED_RLS", "max_users", "3", "1", "4"]);
      expect(await row("Harbor Dental").getByRole("cell").nth(2).textContent()).toBe("max_userssla_hours");
      expect(await row("Client Beta").getByRole("cell").nth(2).textContent()).toBe("none");
      expect(await row("Keystone Legal").getByRole("cell").first().textContent()).toBe("suspended");
      expect(await overview.getByRole("row", { name: /Client Gamma/ }).count()).toBe(0);
      const locked = page.getByRole("region", { name: "Locked for NorthStar MSP" });
      expect(await locked.getByRole("listitem").allTextContents()).toEqual(["data_region locked by AcmeSec", "theme locked by AcmeSec"]);
      // Leaves have no expander; branches do.
      expect(await treeItem("Client Alpha").getAttribute("aria-expanded")).toBeNull();
      expect(await treeItem("NorthStar MSP").getAttribute("aria-expanded")).toBe("true");
      await checkpoint("overview");
    },
    JOURNEY,
  );

  it(
    "overrides max_users on Client Beta and the inheritance view follows without a reload",
    async () => {
      await select("AcmeSec", "NorthStar MSP", "Client Beta");
      await tab("Config").click();
      const chain = page.getByRole("region", { name: "Inheritance of max_users" });
      await chain.getByText("Client Beta gets 500 from NorthStar MSP").waitFor();
      await page.getByRole("button", { name: "Override max_users" }).click();
      await page.getByLabel("Value of max_users").fill("75");
      await page.getByRole("button", { name: "Save" }).click();
      await chain.getByText("Client Beta gets 75 from Client Beta").waitFor();
      expect(await chain.getByRole("listitem").allTextContents()).toEqual([
        "AcmeSec: sets 1000",
        "NorthStar MSP: overrides with 500",
        "Client Beta: overrides with 75 effective",
      ]);
      await checkpoint("config-override");
    },
    JOURNEY,
  );

  it(
    "locks sla_hours at NorthStar MSP; Client Alpha's editor then refuses it",
    async () => {
      await select("AcmeSec", "NorthStar MSP");
      await tab("Config").click();
      await page.getByRole("button", { name: "Lock sla_hours" }).click();
      await page.getByRole("button", { name: "Unlock sla_hours" }).waitFor();

      await select("AcmeSec", "NorthStar MSP", "Client Alpha");
      await tab("Config").click();
      const row = page.getByRole("row", { name: /^sla_hours / });
      await row.getByText("Locked by NorthStar MSP", { exact: true }).waitFor();
      expect(await row.getByRole("button", { name: "Override sla_hours" }).count()).toBe(0);
      // Trying anyway through "Set a key": the control plane refuses, and the form says why.
      await page.getByLabel("Key", { exact: true }).fill("sla_hours");
      await page.getByLabel("Value (JSON)").fill("2");
      await page.getByRole("button", { name: "Set key" }).click();
      await page.getByRole("alert").filter({ hasText: "CONFIG_LOCKED" }).waitFor();
      await checkpoint("config-locked");
    },
    JOURNEY,
  );

  it(
    "grants and revokes with each revocation mode",
    async () => {
      await select("AcmeSec", "NorthStar MSP");
      await tab("Permissions").click();
      for (const mode of ["CASCADE", "SOFT", "PERMANENT"] as const) {
        await page.getByLabel("Permission key").fill("ticket_export");
        await page.getByLabel("Revocation mode").selectOption(mode);
        await page.getByRole("button", { name: "Grant" }).click();
        await status("Granted ticket_export.").waitFor();
        await page.getByRole("button", { name: "Revoke ticket_export" }).click();
        const dialog = page.getByRole("alertdialog", { name: "Revoke ticket_export at NorthStar MSP?" });
        await dialog.getByRole("button", { name: `Confirm revoke (${mode})` }).click();
        await status(`Revoked ticket_export (${mode})`).waitFor();
      }
      // PERMANENT leaves a tombstone that the editor explains.
      await page.getByText(/ticket_export: permanently revoked here/).waitFor();
      await checkpoint("permissions");
    },
    JOURNEY,
  );

  it(
    "creates a client under NorthStar MSP and moves it to SouthWind MSP",
    async () => {
      await select("AcmeSec", "NorthStar MSP");
      await page.getByRole("button", { name: "New child" }).click();
      const create = page.getByRole("dialog", { name: "New tenant under NorthStar MSP" });
      await create.getByLabel("Name").fill("Orbit Labs");
      await create.getByRole("button", { name: "Create tenant" }).click();
      await page.getByRole("heading", { level: 1, name: "Orbit Labs" }).waitFor();
      await treeItem("Orbit Labs").waitFor();

      await page.getByRole("button", { name: "Move", exact: true }).click();
      const move = page.getByRole("dialog", { name: "Move Orbit Labs" });
      await move.getByLabel("New parent").selectOption({ label: "\u00a0\u00a0SouthWind MSP" });
      await checkpoint("move-dialog");
      await move.getByRole("button", { name: "Move tenant" }).click();
      await page.getByRole("navigation", { name: "Breadcrumb" }).getByText("SouthWind MSP").waitFor();
      await status("Moved Orbit Labs under SouthWind MSP.").waitFor();
      const moved = await client.prisma.$stratum.getTenantBySlug("orbit_labs");
      expect((await client.prisma.$stratum.getTenant(moved.parent_id!)).name).toBe("SouthWind MSP");
      await expand("SouthWind MSP");
      await treeItem("Orbit Labs").waitFor();
      expect(await parentInTree("Orbit Labs")).toBe("SouthWind MSP");

      // By drag: onto NorthStar MSP's row. The tree redraws in place, no reload.
      await markPage();
      await treeItem("Orbit Labs").locator(".stratum-tree-row").first().dragTo(treeItem("NorthStar MSP").locator(".stratum-tree-row").first());
      await status("Moved Orbit Labs under NorthStar MSP.").waitFor();
      await expect.poll(() => parentInTree("Orbit Labs")).toBe("NorthStar MSP");
      expect(await samePage()).toBe(true);

      // By keyboard: Ctrl+X on it, arrow keys to SouthWind MSP, Ctrl+V.
      await treeItem("Orbit Labs").focus();
      await page.keyboard.press("Control+x");
      await page.getByText("Orbit Labs picked up. Go to its new parent and press Ctrl+V; Escape cancels.").waitFor({ state: "attached" });
      await treeItem("SouthWind MSP").focus();
      await page.keyboard.press("Control+v");
      await status("Moved Orbit Labs under SouthWind MSP.").waitFor();
      await expect.poll(() => parentInTree("Orbit Labs")).toBe("SouthWind MSP");
      // Focus follows the tenant to its new place, so the next key works on it.
      await expect.poll(() => page.evaluate(() => document.activeElement?.querySelector(".stratum-tree-name")?.textContent)).toBe("Orbit Labs");
      expect(await samePage()).toBe(true);
      expect((await client.prisma.$stratum.getTenant((await client.prisma.$stratum.getTenantBySlug("orbit_labs")).parent_id!)).name).toBe("SouthWind MSP");
      await checkpoint("tree-moved");
    },
    JOURNEY,
  );

  it(
    "creates an API key (shown once) and rotates it",
    async () => {
      await select("AcmeSec", "NorthStar MSP", "Client Alpha");
      await tab("API keys").click();
      await page.getByLabel("New key name").fill("SIEM connector");
      await page.getByRole("button", { name: "Create key" }).click();
      const first = await page.getByTestId("secret-once").textContent();
      expect(first).toMatch(/^sk_test_/);
      await page.getByRole("button", { name: "I have stored it" }).click();

      await page.getByRole("button", { name: "Rotate SIEM connector" }).click();
      const second = page.getByTestId("secret-once");
      await second.waitFor();
      expect(await second.textContent()).not.toBe(first);
      expect(await client.prisma.$stratum.verifyApiKey(first!)).toBeNull();
      expect(await client.prisma.$stratum.verifyApiKey((await second.textContent())!)).not.toBeNull();
      const rows = page.getByRole("table", { name: "API keys of Client Alpha" }).getByRole("row", { name: /^SIEM connector/ });
      await page.getByRole("row", { name: /^SIEM connector revoked/ }).waitFor();
      expect(await rows.count()).toBe(2);
      await checkpoint("api-keys");
    },
    JOURNEY,
  );

  it(
    "retries a failed webhook delivery from its delivery log",
    async () => {
      // The receiver fails the first request and accepts the next.
      receiver.behave("soc", (n) => ({ status: n === 1 ? 500 : 200 }));
      const endpoint = receiver.url("soc");
      await select("AcmeSec", "NorthStar MSP", "Client Alpha");
      await tab("Webhooks").click();
      await page.getByLabel("Endpoint URL").fill(endpoint);
      await page.getByRole("button", { name: "Register webhook" }).click();
      expect(await page.getByTestId("secret-once").textContent()).toMatch(/^whsec_/);
      await page.getByRole("button", { name: "I have stored it" }).click();

      await page.getByRole("button", { name: `Delivery log of ${endpoint}` }).click();
      const log = page.getByRole("region", { name: `Delivery log of ${endpoint}` });
      await log.getByText("No deliveries yet", { exact: false }).waitFor();
      await log.getByRole("button", { name: "Send test event" }).click();
      const row = log.getByRole("row", { name: /^webhook\.test / });
      // The log follows the delivery by itself until the worker settles it: dead after the 500.
      await row.getByText("dead", { exact: true }).waitFor();
      expect(await row.getByRole("cell").first().textContent()).toBe("dead 1 attempt");
      expect(await row.getByRole("cell").nth(1).textContent()).toContain("HTTP 500");
      expect(receiver.requests("soc")).toHaveLength(1);

      await row.getByRole("button", { name: "Retry webhook.test delivery" }).click();
      await row.getByText("delivered", { exact: true }).waitFor();
      expect(receiver.requests("soc")).toHaveLength(2);
      // The same event both times: a receiver deduplicates on its id.
      const [first, second] = receiver.requests("soc").map((r) => JSON.parse(r.body) as { id: string; type: string });
      expect(second).toEqual(first);
      expect(first!.type).toBe("webhook.test");
      await checkpoint("webhooks");
      // The webhook table and its delivery log fit a 768 px tablet too.
      await page.setViewportSize({ width: 768, height: 900 });
      const over = await overflow();
      expect(over.page).toBeLessThanOrEqual(0);
      for (const table of over.tables) expect(table).toBeLessThanOrEqual(0);
      await checkpoint("webhooks-768");
      await page.setViewportSize({ width: 1280, height: 800 });
    },
    JOURNEY,
  );

  it(
    "moves Pinecrest Clinic to a schema of its own and watches the journal to the end",
    async () => {
      await select("AcmeSec", "SouthWind MSP", "Pinecrest Clinic");
      await tab("Isolation").click();
      const panel = page.getByRole("region", { name: "Isolation of Pinecrest Clinic" });
      await panel.getByText("Pinecrest Clinic has never moved.").waitFor();
      await panel.getByLabel("Move to", { exact: true }).selectOption("SCHEMA");
      await panel.getByRole("button", { name: "Start move" }).click();
      const journal = panel.getByRole("table", { name: "Move journal of Pinecrest Clinic" });
      const row = journal.getByRole("row", { name: /^SHARED_RLS SCHEMA / });
      await row.getByText("done", { exact: true }).waitFor();
      expect(await row.getByRole("cell").nth(2).textContent()).toBe("cleaned done");
      // Its seven tickets and two users, copied and counted.
      expect(await row.getByRole("cell").nth(3).textContent()).toMatch(/\d/);
      await status(/^Moved to SCHEMA: \d+ rows copied and verified\./).waitFor();
      await panel.getByText("A PostgreSQL schema of its own in the main database.").waitFor();
      expect((await client.prisma.$stratum.getTenantBySlug("pinecrest_clinic")).isolation_strategy).toBe("SCHEMA");
      await checkpoint("isolation");
    },
    JOURNEY,
  );

  it(
    "views as NorthStar MSP: marked, and limited to its subtree",
    async () => {
      await select("AcmeSec", "NorthStar MSP");
      await page.getByRole("button", { name: "View as tenant" }).click();
      const banner = page.getByRole("region", { name: "Impersonation" });
      await banner.getByText("Viewing as NorthStar MSP").waitFor();
      await treeItem("NorthStar MSP").waitFor();
      expect(await treeItem("AcmeSec").count()).toBe(0);
      await checkpoint("view-as");
      await banner.getByRole("button", { name: "Stop viewing as" }).click();
      await treeItem("AcmeSec").waitFor();
    },
    JOURNEY,
  );

  it(
    "reads the audit entries of all of it",
    async () => {
      await select("AcmeSec");
      await tab("Audit").click();
      const log = page.getByRole("table", { name: "Audit log of AcmeSec, newest first" });
      await log.waitFor();
      const rows = log.locator("tbody tr");
      expect(await rows.count()).toBe(20);
      // Scrolling: the end of the table comes into view and the next page arrives, no click.
      await page.locator(".stratum-audit-end").scrollIntoViewIfNeeded();
      await expect.poll(() => rows.count()).toBeGreaterThan(20);
      // Keyboard: "Load older entries" until the log says it is complete (focusing the button
      // scrolls it into view, so the observer may load a page first; either way nothing repeats).
      const more = page.getByRole("button", { name: "Load older entries" });
      const done = page.getByText(/^All \d+ entries shown\.$/);
      while (!(await done.isVisible())) {
        const before = await rows.count();
        if (await more.isVisible()) {
          await more.focus();
          await page.keyboard.press("Enter");
        }
        await expect.poll(async () => (await rows.count()) > before || (await done.isVisible())).toBe(true);
      }
      // At least three pages of 20 were read.
      expect(await rows.count()).toBeGreaterThan(40);
      expect(await done.textContent()).toBe(`All ${await rows.count()} entries shown.`);
      const actions = (await log.locator("tbody th code").allTextContents()).join(" ");
      for (const action of [
        "tenant.move",
        "tenant.create",
        "permission.revoke",
        "api_key.revoke",
        "api_key.create",
        "config.set",
        "webhook.create",
        "webhook.test",
        "isolation.move",
      ]) {
        expect(actions).toContain(action);
      }
      await page.getByLabel("Action", { exact: true }).fill("tenant.*");
      await page.waitForFunction(() =>
        Array.from(document.querySelectorAll(".stratum-audit-table tbody th code")).every((c) => c.textContent?.startsWith("tenant.")),
      );
      await page.evaluate(() => window.scrollTo(0, 0));
      await checkpoint("audit");
    },
    JOURNEY,
  );

  it(
    "works in the dark theme and from 1,280 px down to a 768 px tablet without cutting columns",
    async () => {
      await select("AcmeSec", "NorthStar MSP");
      // Its clients open in the tree too: this capture is the README's dark screenshot.
      await expand("NorthStar MSP");
      await page.getByRole("button", { name: "Dark theme" }).click();
      await page.locator("[data-stratum-theme=dark]").first().waitFor();
      await checkpoint("overview-dark");
      for (const width of [1024, 800, 768]) {
        await page.setViewportSize({ width, height: 900 });
        for (const name of ["Overview", "Config", "Permissions", "Audit"]) {
          await tab(name).click();
          await page.getByRole("tabpanel").locator("table").first().waitFor();
          // Nothing sticks out of the page, and no table is wider than its panel.
          const over = await overflow();
          expect(over.page, `${name} at ${width}px`).toBeLessThanOrEqual(0);
          for (const table of over.tables) expect(table, `${name} table at ${width}px`).toBeLessThanOrEqual(0);
        }
      }
      await tab("Config").click();
      await checkpoint("config-768-dark");
      await page.getByRole("button", { name: "Light theme" }).click();
      await page.setViewportSize({ width: 1280, height: 800 });
    },
    JOURNEY,
  );
});
