/** The dashboard's HTML shell: a root element and the bundle. No key, no data: the app asks the server after sign-in. */

export function dashboardPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>AcmeSec Console · stratum-prisma MSSP dashboard</title>
<style>html, body { margin: 0; } body { background: #f6f7f9; } @media (prefers-color-scheme: dark) { body { background: #0f141c; } }</style>
</head>
<body>
<div id="root"></div>
<script type="module" src="/app.js"></script>
</body>
</html>
`;
}
