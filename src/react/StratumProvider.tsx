/// <reference lib="dom" />
/**
 * The kit's root: one client, a theme (light/dark by CSS variables on this element) and a locale
 * for every component below, plus the toast region writes report into.
 */
import { useCallback, useMemo, useRef, useState, type ReactNode } from "react";
import type { StratumOperatorClient } from "./client/operator-types.js";
import { StratumContext, type StratumTheme, type ToastTone } from "./context.js";
import { ToastRegion, type Toast } from "./components/ToastRegion.js";
import { stratumAdminCss } from "./styles.js";

const TOAST_MS = 6000;

export interface StratumProviderProps {
  client: StratumOperatorClient;
  theme?: StratumTheme;
  locale?: string;
  /** Inject stratumAdminCss (default true); false for headless use with your own styles. */
  styles?: boolean;
  className?: string;
  children: ReactNode;
}

export function StratumProvider({ client, theme = "light", locale, styles = true, className, children }: StratumProviderProps) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const next = useRef(0);
  const dismiss = useCallback((id: number) => setToasts((list) => list.filter((t) => t.id !== id)), []);
  const toast = useCallback(
    (message: string, tone: ToastTone = "ok") => {
      const id = ++next.current;
      // At most three on screen, each for a few seconds: the form behind them must stay usable.
      setToasts((list) => [...list.slice(-2), { id, message, tone }]);
      setTimeout(() => dismiss(id), TOAST_MS);
    },
    [dismiss],
  );
  const value = useMemo(() => ({ client, locale, theme, toast }), [client, locale, theme, toast]);
  return (
    <StratumContext.Provider value={value}>
      <div className={["stratum-root", className].filter(Boolean).join(" ")} data-stratum-theme={theme}>
        {styles ? <style>{stratumAdminCss}</style> : null}
        {children}
        <ToastRegion toasts={toasts} onDismiss={dismiss} />
      </div>
    </StratumContext.Provider>
  );
}
