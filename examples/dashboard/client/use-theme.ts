/// <reference lib="dom" />
/** Light or dark: the operator's last choice, else the system's. */
import { useEffect, useState } from "react";
import type { StratumTheme } from "../../../src/react/index.js";

const KEY = "stratum-dashboard-theme";

function initial(): StratumTheme {
  const saved = localStorage.getItem(KEY);
  if (saved === "light" || saved === "dark") return saved;
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export function useTheme(): [StratumTheme, (theme: StratumTheme) => void] {
  const [theme, setTheme] = useState<StratumTheme>(initial);
  useEffect(() => {
    localStorage.setItem(KEY, theme);
    document.documentElement.style.colorScheme = theme;
    document.body.style.background = theme === "dark" ? "#0f141c" : "#f6f7f9";
  }, [theme]);
  return [theme, setTheme];
}
