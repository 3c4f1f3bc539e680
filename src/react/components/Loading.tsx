/** A skeleton of grey bars while a panel loads; the label is what a screen reader hears. */
export function Loading({ label = "Loading…", rows = 3 }: { label?: string; rows?: number }) {
  return (
    <div role="status" className="stratum-loading" aria-label={label}>
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="stratum-skeleton" aria-hidden="true" />
      ))}
      <span className="stratum-visually-hidden">{label}</span>
    </div>
  );
}
