/// <reference lib="dom" />
/**
 * A modal dialog per WAI-ARIA: labelled by its title, focus moves in on open (to `initialFocus`
 * or the first field), Tab stays inside, Escape cancels, focus returns to the opener on close.
 */
import { useEffect, useId, useRef, type KeyboardEvent, type ReactNode } from "react";

export interface DialogProps {
  title: string;
  /** "alertdialog" for confirmations of destructive writes. */
  role?: "dialog" | "alertdialog";
  onClose(): void;
  children: ReactNode;
  className?: string;
}

const FOCUSABLE = "input:not([disabled]), select:not([disabled]), textarea:not([disabled]), button:not([disabled]), [href], [tabindex]:not([tabindex='-1'])";

export function Dialog({ title, role = "dialog", onClose, children, className }: DialogProps) {
  const id = useId();
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    const first = box.current?.querySelector<HTMLElement>("[data-autofocus]") ?? box.current?.querySelector<HTMLElement>(FOCUSABLE);
    first?.focus();
    return () => opener?.focus?.();
  }, []);

  const trap = (event: KeyboardEvent) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      onClose();
      return;
    }
    if (event.key !== "Tab" || !box.current) return;
    const items = Array.from(box.current.querySelectorAll<HTMLElement>(FOCUSABLE));
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last?.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first?.focus();
    }
  };

  return (
    <div className="stratum-dialog-backdrop">
      <div
        ref={box}
        role={role}
        aria-modal="true"
        aria-labelledby={`${id}-title`}
        className={["stratum-dialog", className].filter(Boolean).join(" ")}
        onKeyDown={trap}
      >
        <h2 id={`${id}-title`} className="stratum-dialog-title">
          {title}
        </h2>
        {children}
      </div>
    </div>
  );
}
