export type BadgeTone = "neutral" | "ok" | "warn" | "danger" | "info";

export function Badge({ tone = "neutral", children }: { tone?: BadgeTone; children: string }) {
  return <span className={`stratum-badge stratum-badge--${tone}`}>{children}</span>;
}
