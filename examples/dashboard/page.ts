/** The dashboard's HTML shell: a root element, the page settings, the bundle. */

const STYLE = `
  body { font-family: system-ui, sans-serif; margin: 0; color: #1d2330; }
  .dashboard { display: grid; grid-template-columns: 320px 1fr; min-height: 100vh; }
  .dashboard-tree { border-right: 1px solid #dde; padding: 1rem; background: #f7f8fb; }
  .dashboard-detail { padding: 1rem 2rem; }
  .dashboard-detail > section { margin-bottom: 2rem; }
  h1 { font-size: 1.2rem; } h2 small { color: #667; font-weight: normal; }
  .stratum-tree, .stratum-tree-group { list-style: none; padding-left: 1rem; }
  [role=treeitem][aria-selected=true] > * { font-weight: bold; }
  .stratum-table { border-collapse: collapse; } .stratum-table th, .stratum-table td { border-bottom: 1px solid #e3e6ee; padding: .3rem .6rem; text-align: left; }
`;

/** `<` is escaped so a value can never close the script element it sits in. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}

export function dashboardPage(settings: { apiKey: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>stratum-prisma · MSSP dashboard</title>
<style>${STYLE}</style>
</head>
<body>
<div id="root"></div>
<script id="dashboard-settings" type="application/json">${jsonForScript(settings)}</script>
<script type="module" src="/app.js"></script>
</body>
</html>
`;
}
