/** What StratumProvider hands down: the client, the locale, and a way to raise a toast. */
import { createContext, useContext } from "react";
import type { StratumOperatorClient } from "./client/operator-types.js";

export type ToastTone = "ok" | "danger" | "info";

export interface StratumContextValue {
  client: StratumOperatorClient;
  /** BCP 47 tag for dates and numbers; default the browser's. */
  locale: string | undefined;
  theme: StratumTheme;
  toast(message: string, tone?: ToastTone): void;
}

export type StratumTheme = "light" | "dark";

export const StratumContext = createContext<StratumContextValue | null>(null);

export function useStratum(): StratumContextValue {
  const value = useContext(StratumContext);
  if (!value) throw new Error("useStratum() needs a <StratumProvider> above it.");
  return value;
}

/** A date as the operator reads it, in the provider's locale. */
export function formatDate(iso: string | null, locale: string | undefined): string {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(locale, { dateStyle: "medium", timeStyle: "short" });
}
