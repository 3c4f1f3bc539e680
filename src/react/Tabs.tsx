/// <reference lib="dom" />
/**
 * WAI-ARIA tabs with automatic activation: arrow keys move between tabs and show the panel,
 * Home/End jump; only the active tab is in the tab order. Only the active panel renders.
 */
import { useId, useRef, type KeyboardEvent, type ReactNode } from "react";

export interface TabSpec {
  id: string;
  label: string;
  render(): ReactNode;
}

export interface TabsProps {
  tabs: readonly TabSpec[];
  selected: string;
  onSelect(id: string): void;
  label: string;
  className?: string;
}

export function Tabs({ tabs, selected, onSelect, label, className }: TabsProps) {
  const base = useId();
  const refs = useRef(new Map<string, HTMLButtonElement>());
  const current = tabs.find((t) => t.id === selected) ?? tabs[0];
  const go = (index: number) => {
    const tab = tabs[(index + tabs.length) % tabs.length];
    if (!tab) return;
    onSelect(tab.id);
    refs.current.get(tab.id)?.focus();
  };
  const onKeyDown = (event: KeyboardEvent) => {
    const index = tabs.findIndex((t) => t.id === current?.id);
    const moves: Record<string, number> = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 };
    const to = moves[event.key];
    if (to === undefined) return;
    event.preventDefault();
    go(to);
  };
  return (
    <div className={["stratum-tabs", className].filter(Boolean).join(" ")}>
      <div role="tablist" aria-label={label} className="stratum-tablist" onKeyDown={onKeyDown}>
        {tabs.map((t) => (
          <button
            key={t.id}
            ref={(el) => void (el ? refs.current.set(t.id, el) : refs.current.delete(t.id))}
            type="button"
            role="tab"
            id={`${base}-tab-${t.id}`}
            aria-selected={t.id === current?.id}
            aria-controls={`${base}-panel-${t.id}`}
            tabIndex={t.id === current?.id ? 0 : -1}
            className="stratum-tab"
            onClick={() => onSelect(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      {current ? (
        <div role="tabpanel" id={`${base}-panel-${current.id}`} aria-labelledby={`${base}-tab-${current.id}`} className="stratum-tabpanel" tabIndex={0}>
          {current.render()}
        </div>
      ) : null}
    </div>
  );
}
