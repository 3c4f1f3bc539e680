/**
 * Screenshots compared with committed baselines (test/browser/baselines/<name>.png). Dynamic text
 * (times, secrets) is masked; a small share of differing pixels is tolerated for anti-aliasing.
 * A missing baseline is written from the run (commit it); UPDATE_BASELINES=1 rewrites them all.
 * Every capture is also kept under .tmp/browser/ for a look.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pixelmatch from "pixelmatch";
import type { Page } from "playwright-core";
import { PNG } from "pngjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const BASELINES = join(root, "test", "browser", "baselines");
export const CAPTURES = join(root, ".tmp", "browser");
/** Share of pixels allowed to differ (font hinting, sub-pixel positions). */
const TOLERANCE = 0.01;
// A webhook's URL holds the test receiver's random port.
const DYNAMIC = ["time", "[data-testid=secret-once]", ".stratum-change", ".stratum-url"];

export interface VisualResult {
  name: string;
  /** Differing pixels / all pixels; 0 when the baseline was just written. */
  ratio: number;
  written: boolean;
}

export async function captureAndCompare(page: Page, name: string): Promise<VisualResult> {
  await mkdir(CAPTURES, { recursive: true });
  await mkdir(BASELINES, { recursive: true });
  // Fonts and pending layout first: a screenshot mid-load would differ for no reason.
  await page.evaluate(() => document.fonts.ready.then(() => undefined));
  // Toasts come and go on their own schedule: not part of what a baseline pins down.
  await page.evaluate(() => document.querySelectorAll<HTMLElement>(".stratum-toasts").forEach((t) => (t.style.visibility = "hidden")));
  const png = await page.screenshot({
    fullPage: false,
    animations: "disabled",
    caret: "hide",
    mask: DYNAMIC.map((s) => page.locator(s)),
    maskColor: "#888888",
  });
  await page.evaluate(() => document.querySelectorAll<HTMLElement>(".stratum-toasts").forEach((t) => (t.style.visibility = "")));
  await writeFile(join(CAPTURES, `${name}.png`), png);
  const baselinePath = join(BASELINES, `${name}.png`);
  if (process.env["UPDATE_BASELINES"] === "1" || !existsSync(baselinePath)) {
    await writeFile(baselinePath, png);
    return { name, ratio: 0, written: true };
  }
  const actual = PNG.sync.read(png);
  const expected = PNG.sync.read(await readFile(baselinePath));
  if (actual.width !== expected.width || actual.height !== expected.height) return { name, ratio: 1, written: false };
  const diff = new PNG({ width: actual.width, height: actual.height });
  const differing = pixelmatch(expected.data, actual.data, diff.data, actual.width, actual.height, { threshold: 0.1 });
  const ratio = differing / (actual.width * actual.height);
  if (ratio > TOLERANCE) await writeFile(join(CAPTURES, `${name}.diff.png`), PNG.sync.write(diff));
  return { name, ratio, written: false };
}

export const VISUAL_TOLERANCE = TOLERANCE;
