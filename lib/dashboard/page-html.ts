/**
 * The page's HTML: a shell the script fills in. The same for every path the page has (the list, a
 * workflow), so a reload or a link opened in a new tab lands where it pointed.
 */

/** The shell for a dashboard mounted at `base` ('' at the root, '/waymark' under an app's path). */
export function pageHtml(base: string): string {
  const escaped = base.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>waymark</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${escaped}/assets/style.css">
<script src="${escaped}/assets/app.js" defer></script>
</head>
<body data-base="${escaped}">
<a class="skip" href="#main">Skip to content</a>
<header class="top"><a class="brand" href="${escaped}/">waymark</a><span class="top-note">workflows in this store</span></header>
<main id="main" tabindex="-1"><p class="muted">Loading…</p></main>
</body>
</html>
`;
}
