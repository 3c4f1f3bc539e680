/** The browser bundle, built in memory with esbuild's JS API when first asked for. */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// Paths from the module's own file path: a DOM environment (jsdom in tests) replaces the global URL.
const entry = join(dirname(fileURLToPath(import.meta.url)), "client", "main.tsx");

export async function buildClientBundle(): Promise<string> {
  // Loaded on first use: a server that never serves /app.js never starts esbuild's service.
  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    jsx: "automatic",
    minify: true,
    // Keeps component names readable in the browser's React tools (and checkable in the bundle).
    keepNames: true,
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "silent",
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error("esbuild produced no output");
  return file.text;
}
