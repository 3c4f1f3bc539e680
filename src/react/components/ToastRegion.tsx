import type { ToastTone } from "../context.js";

export interface Toast {
  id: number;
  message: string;
  tone: ToastTone;
}

/** A polite live region: a confirmed write is announced without stealing focus. */
export function ToastRegion({ toasts, onDismiss }: { toasts: readonly Toast[]; onDismiss(id: number): void }) {
  return (
    <div className="stratum-toasts" role="status" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} className={`stratum-toast stratum-toast--${t.tone}`}>
          <span>{t.message}</span>
          <button type="button" className="stratum-button stratum-button--ghost" aria-label="Dismiss notification" onClick={() => onDismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
