/**
 * The console's layout, on top of the kit's stylesheet and its variables (so both themes apply).
 * Breakpoints: the tree narrows below 1100 px and again below 900 px; the page works down to 768.
 */
export const dashboardCss = `
.console { min-height: 100vh; display: flex; flex-direction: column; }
.skip-link { position: absolute; left: -999px; top: 0; } .skip-link:focus { left: .5rem; z-index: 70; background: var(--stratum-surface); padding: .5rem; }
.topbar { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.25rem; padding: .55rem 1.25rem; background: var(--stratum-surface); border-bottom: 1px solid var(--stratum-border); }
.brand { font-weight: 700; font-size: 1.05rem; letter-spacing: -.01em; white-space: nowrap; margin: 0; }
.brand-mark { color: var(--stratum-accent); }
.topnav { display: flex; gap: .25rem; }
.topnav a { color: var(--stratum-muted); text-decoration: none; padding: .35em .7em; border-radius: var(--stratum-radius); }
.topnav a[aria-current="page"] { color: var(--stratum-text); background: var(--stratum-surface-2); font-weight: 600; }
.topbar-switcher { flex-direction: row; align-items: center; gap: .5rem; margin: 0; min-width: 0; }
.topbar-switcher select { max-width: 16rem; }
.topbar-end { margin-left: auto; display: flex; align-items: center; gap: .6rem; }
.operator { font-weight: 600; white-space: nowrap; }
.impersonation { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; padding: .55rem 1.25rem; background: var(--stratum-warn-soft); color: var(--stratum-text);
  border-bottom: 2px solid var(--stratum-warn); }
.impersonation-label { font-weight: 700; color: var(--stratum-warn); text-transform: uppercase; letter-spacing: .04em; font-size: .85rem; }
.impersonation .stratum-button { margin-left: auto; }
.console-body { flex: 1; display: grid; grid-template-columns: 300px minmax(0, 1fr); }
.console-tree { background: var(--stratum-surface); border-right: 1px solid var(--stratum-border); padding: 1rem .75rem; overflow: auto; }
.console-tree-help { font-size: .8rem; color: var(--stratum-muted); margin: 1.25rem .4rem 0; }
.console-tree-help kbd { font-family: var(--stratum-mono); font-size: .9em; padding: 0 .3em; border: 1px solid var(--stratum-border); border-radius: 3px; background: var(--stratum-surface-2); }
.console-section-title { font-size: .75rem; text-transform: uppercase; letter-spacing: .06em; color: var(--stratum-muted); margin: 0 0 .5rem .4rem; }
.console-main { padding: 1.25rem 1.75rem 3rem; min-width: 0; }
.console-empty { max-width: 36rem; margin-top: 3rem; }
.breadcrumb ol { list-style: none; display: flex; flex-wrap: wrap; gap: .25rem; padding: 0; margin: 0 0 .35rem; font-size: .85rem; color: var(--stratum-muted); }
.breadcrumb li + li::before { content: "/"; margin-right: .25rem; color: var(--stratum-border); }
.linklike { font: inherit; background: none; border: 0; padding: 0; color: var(--stratum-accent); cursor: pointer; text-align: left; }
.linklike:hover { text-decoration: underline; } .linklike:focus-visible { outline: none; box-shadow: var(--stratum-focus); border-radius: 2px; }
.tenant-header { display: flex; flex-direction: column; gap: .75rem; margin-bottom: 1rem; }
.tenant-title-row { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem .9rem; }
.tenant-title-row h1 { margin: 0; font-size: 1.5rem; letter-spacing: -.01em; }
.tenant-badges { display: inline-flex; gap: .35rem; }
.tenant-toolbar { display: flex; flex-wrap: wrap; gap: .4rem; align-items: center; }
.view-as { border-color: var(--stratum-warn); color: var(--stratum-warn); }
.panel-title { font-size: 1rem; margin: 0 0 .6rem; }
.config-layout { display: grid; grid-template-columns: minmax(0, 1fr); gap: 1.5rem; }
@media (min-width: 1500px) { .config-layout { grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); } }
.stat-cards { list-style: none; padding: 0; margin: 0 0 1rem; display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: .75rem; }
.stat-card { background: var(--stratum-surface); border: 1px solid var(--stratum-border); border-radius: 8px; padding: .75rem 1rem; display: flex; flex-direction: column; }
.stat-value { font-size: 1.6rem; font-weight: 700; line-height: 1.2; }
.stat-label { color: var(--stratum-muted); font-size: .85rem; }
.card { background: var(--stratum-surface); border: 1px solid var(--stratum-border); border-radius: 8px; padding: .75rem 1rem; margin-bottom: 1rem; }
.locked-list { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: .4rem 1.5rem; }
.override-list { display: inline-flex; flex-wrap: wrap; gap: .25rem; }
.override { display: inline-block; padding: 0 .35em; border-radius: 4px; background: var(--stratum-accent-soft); }
.stratum-table .num { text-align: right; font-variant-numeric: tabular-nums; }
.signin-page { min-height: 100vh; display: grid; place-items: center; padding: 1rem; }
.signin-card { width: min(26rem, 100%); background: var(--stratum-surface); border: 1px solid var(--stratum-border); border-radius: 12px; padding: 2rem; box-shadow: 0 10px 30px rgba(0,0,0,.08); }
.signin-card h1 { margin: .5rem 0 .25rem; font-size: 1.4rem; }
.signin-card form { margin-top: 1.25rem; }
.signin-submit { width: 100%; justify-content: center; padding: .6em; }
@media (max-width: 1100px) { .console-body { grid-template-columns: 250px minmax(0, 1fr); } .console-main { padding: 1rem 1.25rem 3rem; } }
@media (max-width: 900px) { .console-body { grid-template-columns: 215px minmax(0, 1fr); } .console-main { padding: 1rem .9rem 3rem; }
  .console-main .stratum-table th, .console-main .stratum-table td { padding: .45em .4em; } .console-main .stratum-table thead th { letter-spacing: 0; } .topnav { display: none; } .console-tree .stratum-tree-badges .stratum-badge--info { display: none; }
  /* A long badge ("Locked for descendants") may wrap, leaving the value column room for "eu-west"; in the tree a
     badge drops below a long name rather than cutting it to "Key…". */
  .console-main .stratum-table .stratum-badge { white-space: normal; border-radius: 6px; }
  /* Only rows with a visible status badge wrap (the isolation badge is hidden here): an empty badge box would add a blank line. */
  .console-tree .stratum-tree-row:has(.stratum-badge--warn, .stratum-badge--neutral) { flex-wrap: wrap; }
  .console-tree .stratum-tree-row:has(.stratum-badge--warn, .stratum-badge--neutral) .stratum-tree-badges { margin-left: 1.4em; }
  .console-tree .stratum-tree-row:not(:has(.stratum-badge--warn, .stratum-badge--neutral)) .stratum-tree-badges { display: contents; } }
`;
