/**
 * The kit's stylesheet: every colour, radius and space is a CSS variable on `.stratum-root`, so
 * an app re-themes by overriding variables; `data-stratum-theme="dark"` switches the palette.
 * Components render plain markup with `stratum-*` classes, so headless use simply skips this.
 *
 *   <StratumProvider client={client} theme="dark">…</StratumProvider>   // injects it
 *   <style>{stratumAdminCss}</style>                                     // or by hand
 */
export const stratumAdminCss = `
.stratum-root {
  --stratum-bg: #f6f7f9; --stratum-surface: #ffffff; --stratum-surface-2: #f1f3f6; --stratum-border: #dfe3ea;
  --stratum-text: #1b2230; --stratum-muted: #5b6475; --stratum-accent: #2454c5; --stratum-accent-text: #ffffff;
  --stratum-accent-soft: #e4ecfc; --stratum-danger: #b42318; --stratum-danger-soft: #fde8e6; --stratum-ok: #18794e;
  --stratum-ok-soft: #e3f5eb; --stratum-warn: #8a5300; --stratum-warn-soft: #fdf1dc; --stratum-info: #1f4fb4; --stratum-info-soft: #e6eefc;
  --stratum-radius: 6px; --stratum-gap: .75rem; --stratum-font: ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  --stratum-mono: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; --stratum-focus: 0 0 0 3px rgba(36, 84, 197, .35);
  color: var(--stratum-text); background: var(--stratum-bg); font-family: var(--stratum-font); font-size: 14px; line-height: 1.45;
}
.stratum-root[data-stratum-theme="dark"] {
  --stratum-bg: #0f141c; --stratum-surface: #161d28; --stratum-surface-2: #1d2634; --stratum-border: #2b3646;
  --stratum-text: #e5e9f0; --stratum-muted: #9aa5b8; --stratum-accent: #6f9cff; --stratum-accent-text: #0b1220;
  --stratum-accent-soft: #1f2d4a; --stratum-danger: #ff8a80; --stratum-danger-soft: #3a1d1d; --stratum-ok: #5fd39a;
  --stratum-ok-soft: #173325; --stratum-warn: #f5c26b; --stratum-warn-soft: #3a2d14; --stratum-info: #8fb2ff; --stratum-info-soft: #1c2a47;
  --stratum-focus: 0 0 0 3px rgba(111, 156, 255, .45); color-scheme: dark;
}
.stratum-root *, .stratum-root *::before, .stratum-root *::after { box-sizing: border-box; }
.stratum-root code { font-family: var(--stratum-mono); font-size: .92em; }
.stratum-visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }

.stratum-button { font: inherit; display: inline-flex; align-items: center; gap: .35em; padding: .35em .8em; border-radius: var(--stratum-radius);
  border: 1px solid var(--stratum-border); background: var(--stratum-surface); color: var(--stratum-text); cursor: pointer; white-space: nowrap; }
.stratum-button:hover:not(:disabled) { background: var(--stratum-surface-2); }
.stratum-button:focus-visible, .stratum-input:focus-visible, .stratum-json-input:focus-visible, .stratum-tab:focus-visible { outline: none; box-shadow: var(--stratum-focus); }
.stratum-button:disabled { opacity: .55; cursor: not-allowed; }
.stratum-button--primary { background: var(--stratum-accent); border-color: var(--stratum-accent); color: var(--stratum-accent-text); }
.stratum-button--primary:hover:not(:disabled) { background: var(--stratum-accent); filter: brightness(1.08); }
.stratum-button--danger { background: var(--stratum-danger); border-color: var(--stratum-danger); color: #fff; font-weight: 600; }
.stratum-root[data-stratum-theme="dark"] .stratum-button--danger { color: #2a0b08; }
.stratum-button--danger:hover:not(:disabled) { background: var(--stratum-danger); filter: brightness(1.08); }
.stratum-button--ghost { border-color: transparent; background: transparent; padding: .1em .4em; }

.stratum-field { display: flex; flex-direction: column; gap: .3rem; margin: 0 0 .75rem; min-width: 12rem; }
.stratum-field > label { font-weight: 600; font-size: .85rem; color: var(--stratum-muted); }
.stratum-input, .stratum-field input, .stratum-field select, .stratum-json-input { font: inherit; color: var(--stratum-text); background: var(--stratum-surface);
  border: 1px solid var(--stratum-border); border-radius: var(--stratum-radius); padding: .4em .55em; min-width: 0; }
.stratum-json-input { font-family: var(--stratum-mono); min-width: 14em; width: 100%; }
.stratum-json-input[aria-invalid="true"] { border-color: var(--stratum-danger); }
.stratum-field-error { color: var(--stratum-danger); margin: 0; font-size: .85em; }
.stratum-help, .stratum-readonly { color: var(--stratum-muted); font-size: .85em; margin: .2rem 0; }
.stratum-check { display: flex; gap: .5em; align-items: center; margin: .25rem 0 .75rem; }
.stratum-inline-form { display: flex; flex-wrap: wrap; align-items: flex-end; gap: var(--stratum-gap); margin-top: 1rem; }
.stratum-inline-form .stratum-field { margin: 0; }
.stratum-inline-form > .stratum-button { margin-bottom: 1px; }
.stratum-form { margin-top: 1.25rem; padding: 1rem; border: 1px solid var(--stratum-border); border-radius: var(--stratum-radius); background: var(--stratum-surface);
  display: grid; grid-template-columns: repeat(auto-fill, minmax(13rem, 1fr)); gap: .25rem .9rem; align-items: start; }
.stratum-form > h3 { grid-column: 1 / -1; margin: 0 0 .5rem; font-size: 1rem; }
.stratum-form > .stratum-button { justify-self: start; align-self: end; margin-bottom: .75rem; }
.stratum-form > .stratum-error { grid-column: 1 / -1; }
/* The field's text-input padding would squeeze a checkbox to a few pixels. */
.stratum-root input[type="checkbox"], .stratum-root input[type="radio"] { padding: 0; width: 1rem; height: 1rem; flex: none; margin: .15em 0 0; accent-color: var(--stratum-accent); }
.stratum-checkboxes > label { font-weight: normal; font-size: .9rem; color: var(--stratum-text); display: flex; gap: .45em; align-items: flex-start; }
.stratum-inline-form textarea { min-width: 10em; }
.stratum-deliveries { margin-top: 1.25rem; padding-top: 1rem; border-top: 1px solid var(--stratum-border); }
.stratum-deliveries .stratum-toolbar { margin-bottom: .75rem; }
.stratum-deliveries-title { font-size: 1rem; margin: 0 0 .6rem; display: flex; flex-wrap: wrap; gap: .25em .6em; align-items: baseline; }
.stratum-deliveries-title .stratum-url { font-weight: normal; font-family: var(--stratum-mono); font-size: .85em; color: var(--stratum-muted); }
.stratum-url { overflow-wrap: anywhere; }
.stratum-button[aria-expanded="true"] { background: var(--stratum-accent-soft); border-color: var(--stratum-accent); }
.stratum-audit-end { margin-top: .75rem; }
/* The change summary would take every spare pixel (its text is long); capped, the time and action stay on one line when there is room.
   The time column has one width whatever the time says ("9:52 PM" or "10:06 PM", "Dec 6" or "Dec 16"): the rows do not shift with the clock. */
.stratum-audit-table td:first-child { width: 8em; } .stratum-audit-table td:first-child time { display: inline-block; width: 8em; } .stratum-audit-table .stratum-change { width: 40%; } .stratum-change { overflow-wrap: anywhere; }
.stratum-filters { display: flex; flex-wrap: wrap; gap: var(--stratum-gap); }

.stratum-badge { display: inline-block; font-size: .72rem; font-weight: 600; line-height: 1.5; padding: 0 .5em; border-radius: 999px; white-space: nowrap;
  letter-spacing: .01em; vertical-align: middle; background: var(--stratum-surface-2); color: var(--stratum-muted); }
.stratum-badge--ok { background: var(--stratum-ok-soft); color: var(--stratum-ok); } .stratum-badge--warn { background: var(--stratum-warn-soft); color: var(--stratum-warn); }
.stratum-badge--danger { background: var(--stratum-danger-soft); color: var(--stratum-danger); } .stratum-badge--info { background: var(--stratum-info-soft); color: var(--stratum-info); }

.stratum-table-wrap { overflow-x: auto; }
.stratum-table { border-collapse: collapse; width: 100%; background: var(--stratum-surface); }
.stratum-table th, .stratum-table td { text-align: left; vertical-align: top; padding: .5em .65em; border-bottom: 1px solid var(--stratum-border); }
.stratum-table thead th { font-size: .75rem; text-transform: uppercase; letter-spacing: .04em; color: var(--stratum-muted); background: var(--stratum-surface-2); }
.stratum-table tbody th { font-weight: 600; }
.stratum-table caption { text-align: left; font-weight: 600; padding: 0 0 .5em; }
/* Buttons wrap inside the cell on narrow screens rather than pushing the table past its panel. */
.stratum-actions .stratum-button { margin: 0 .35rem .35rem 0; }
.stratum-table td.stratum-actions { padding-bottom: .15em; }
.stratum-value { word-break: break-word; }
.stratum-config-row--locked { color: var(--stratum-muted); }
.stratum-empty { color: var(--stratum-muted); }

.stratum-error { color: var(--stratum-danger); background: var(--stratum-danger-soft); border-left: 3px solid var(--stratum-danger); padding: .45em .7em; margin: .5em 0; border-radius: 0 var(--stratum-radius) var(--stratum-radius) 0; }
.stratum-error-code { font-weight: 700; }
.stratum-confirm { border: 1px solid var(--stratum-danger); background: var(--stratum-danger-soft); padding: .75em 1em; margin: .75em 0; border-radius: var(--stratum-radius); }
.stratum-confirm h4 { margin: 0 0 .5em; }
.stratum-radios { border: 0; padding: 0; margin: 0 0 .5em; display: flex; flex-wrap: wrap; gap: .25em 1.25em; }
.stratum-radios legend { font-weight: 600; font-size: .85rem; color: var(--stratum-muted); margin-bottom: .25em; }

.stratum-tree, .stratum-tree-group { list-style: none; margin: 0; padding: 0; }
.stratum-tree-item { outline: none; }
.stratum-tree-row { display: flex; align-items: center; gap: .4em; padding: .3em .4em; cursor: pointer; border-radius: var(--stratum-radius); min-width: 0; }
.stratum-tree-row:hover { background: var(--stratum-surface-2); }
.stratum-tree-item:focus-visible > .stratum-tree-row { box-shadow: inset 0 0 0 2px var(--stratum-accent); }
.stratum-tree-item--selected > .stratum-tree-row { background: var(--stratum-accent-soft); color: var(--stratum-text); font-weight: 600; }
.stratum-tree-item--moving > .stratum-tree-row { outline: 2px dashed var(--stratum-accent); outline-offset: -2px; opacity: .75; }
.stratum-tree-item--drop > .stratum-tree-row { background: var(--stratum-accent-soft); box-shadow: inset 0 0 0 2px var(--stratum-accent); }
.stratum-tree-row[draggable="true"] { cursor: grab; }
.stratum-tree-toggle { flex: none; display: inline-block; width: 1em; text-align: center; color: var(--stratum-muted); }
.stratum-tree-name { flex: 1 1 auto; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.stratum-badge[data-badge]::before { content: attr(data-badge); }
.stratum-tree-badges { flex: none; display: inline-flex; gap: .25em; font-weight: normal; }

.stratum-chain { margin: .25em 0 .75em; padding-left: 1.25em; } .stratum-chain li { margin: .15em 0; }
.stratum-chain-step--blocked .stratum-chain-what { text-decoration: line-through; }
.stratum-chain-step[aria-current="true"] { font-weight: 600; }
.stratum-inheritance-key { border: 1px solid var(--stratum-border); border-radius: var(--stratum-radius); padding: .5em .9em; margin: 0 0 .6em; background: var(--stratum-surface); }
.stratum-inheritance-key h3 { margin: .2em 0; font-size: 1rem; }
.stratum-inheritance-result { margin: .2em 0; color: var(--stratum-muted); }

.stratum-tablist { display: flex; flex-wrap: wrap; gap: .15rem; border-bottom: 1px solid var(--stratum-border); margin-bottom: 1rem; }
.stratum-tab { font: inherit; background: none; border: 0; border-bottom: 2px solid transparent; padding: .55em .9em; color: var(--stratum-muted); cursor: pointer; margin-bottom: -1px; }
.stratum-tab[aria-selected="true"] { color: var(--stratum-accent); border-bottom-color: var(--stratum-accent); font-weight: 600; }
.stratum-tabpanel:focus-visible { outline: none; box-shadow: var(--stratum-focus); }

.stratum-toolbar { display: flex; flex-wrap: wrap; gap: .4rem; align-items: center; }
.stratum-dialog-backdrop { position: fixed; inset: 0; background: rgba(10, 14, 22, .45); display: grid; place-items: center; z-index: 50; padding: 1rem; }
.stratum-dialog { background: var(--stratum-surface); color: var(--stratum-text); border: 1px solid var(--stratum-border); border-radius: 10px; padding: 1.25rem 1.5rem; width: min(32rem, 100%); box-shadow: 0 20px 50px rgba(0, 0, 0, .3); }
.stratum-dialog-title { margin: 0 0 1rem; font-size: 1.1rem; }
.stratum-dialog-actions { display: flex; justify-content: flex-end; gap: .5rem; margin-top: 1rem; }
.stratum-secret-once { border: 1px solid var(--stratum-ok); background: var(--stratum-ok-soft); border-radius: var(--stratum-radius); padding: .75em 1em; margin-bottom: 1rem; }
.stratum-secret { display: block; padding: .5em; background: var(--stratum-surface); border-radius: var(--stratum-radius); word-break: break-all; }

.stratum-toasts { position: fixed; right: 1rem; bottom: 1rem; display: flex; flex-direction: column; gap: .5rem; z-index: 60; max-width: 26rem; }
.stratum-toast { display: flex; align-items: center; justify-content: space-between; gap: .75rem; padding: .6em .9em; border-radius: var(--stratum-radius); background: var(--stratum-surface);
  border: 1px solid var(--stratum-border); border-left: 4px solid var(--stratum-ok); box-shadow: 0 8px 24px rgba(0, 0, 0, .15); }
.stratum-toast--danger { border-left-color: var(--stratum-danger); } .stratum-toast--info { border-left-color: var(--stratum-info); }

.stratum-loading { display: flex; flex-direction: column; gap: .5rem; padding: .5rem 0; }
.stratum-skeleton { height: .9rem; border-radius: 4px; background: linear-gradient(90deg, var(--stratum-surface-2), var(--stratum-border), var(--stratum-surface-2)); background-size: 200% 100%; animation: stratum-shimmer 1.2s linear infinite; }
.stratum-skeleton:nth-child(2) { width: 85%; } .stratum-skeleton:nth-child(3) { width: 60%; }
@keyframes stratum-shimmer { from { background-position: 200% 0; } to { background-position: -200% 0; } }
@media (prefers-reduced-motion: reduce) { .stratum-skeleton { animation: none; } }
`;
