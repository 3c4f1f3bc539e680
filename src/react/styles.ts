/**
 * An optional, minimal stylesheet for the admin components. They render plain markup with
 * `stratum-*` class names, so an app can style them itself instead; this is for a quick start:
 *
 *   <style>{stratumAdminCss}</style>
 */
export const stratumAdminCss = `
.stratum-tree, .stratum-tree-group { list-style: none; margin: 0; padding: 0; }
.stratum-tree-item { outline: none; }
.stratum-tree-row { display: flex; align-items: center; gap: .25em; padding: .15em .25em; cursor: pointer; border-radius: 3px; }
.stratum-tree-item:focus-visible > .stratum-tree-row { outline: 2px solid #2563eb; outline-offset: -2px; }
.stratum-tree-item--selected > .stratum-tree-row { background: #dbeafe; }
.stratum-tree-toggle { display: inline-block; width: 1em; text-align: center; color: #475569; }
.stratum-badge { display: inline-block; font-size: .75em; padding: 0 .4em; border-radius: 999px; border: 1px solid currentColor; }
.stratum-badge--ok { color: #166534; } .stratum-badge--warn { color: #92400e; } .stratum-badge--danger { color: #991b1b; }
.stratum-badge--info { color: #1e40af; } .stratum-badge--neutral { color: #475569; }
.stratum-table { border-collapse: collapse; width: 100%; }
.stratum-table th, .stratum-table td { text-align: left; vertical-align: top; padding: .3em .5em; border-bottom: 1px solid #e2e8f0; }
.stratum-table caption { text-align: left; font-weight: 600; padding: .3em 0; }
.stratum-config-row--locked { color: #475569; }
.stratum-error { color: #991b1b; border-left: 3px solid #991b1b; padding: .25em .5em; margin: .25em 0; }
.stratum-error-code { font-weight: 600; }
.stratum-field { display: flex; flex-direction: column; gap: .15em; margin: .4em 0; }
.stratum-field-error { color: #991b1b; margin: 0; font-size: .85em; }
.stratum-json-input { font-family: ui-monospace, monospace; min-width: 16em; }
.stratum-json-input[aria-invalid="true"] { border-color: #991b1b; }
.stratum-help, .stratum-readonly { color: #475569; font-size: .85em; }
.stratum-confirm { border: 1px solid #991b1b; padding: .5em .75em; margin: .5em 0; border-radius: 4px; }
.stratum-button--danger { color: #fff; background: #b91c1c; border: 1px solid #991b1b; }
.stratum-chain { margin: .25em 0 .75em; }
.stratum-chain-step--blocked .stratum-chain-what { text-decoration: line-through; }
.stratum-chain-step[aria-current="true"] { font-weight: 600; }
`;
