export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <p role="status" className="stratum-loading">
      {label}
    </p>
  );
}
