/**
 * The page's style: light and dark by the system's preference, each step state with a colour and a
 * word (never colour alone), contrast of at least 4.5:1 for text, visible keyboard focus.
 */
export const PAGE_STYLE = String.raw`
:root {
  --bg: #ffffff; --fg: #1f2328; --muted: #57606a; --line: #d0d7de; --panel: #f6f8fa; --link: #0550ae; --focus: #0969da;
  --danger: #a40e26; --danger-bg: #ffebe9;
  --committed: #116329; --committed-bg: #dafbe1;
  --restored: #0550ae; --restored-bg: #ddf4ff;
  --running: #7d4e00; --running-bg: #fff8c5;
  --waiting: #6639ba; --waiting-bg: #fbefff;
  --failed: #a40e26; --failed-bg: #ffebe9;
  --compensated: #953800; --compensated-bg: #fff1e5;
  --not-run: #57606a; --not-run-bg: #f6f8fa;
  --edge: #6e7781;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #30363d; --panel: #161b22; --link: #79c0ff; --focus: #58a6ff;
    --danger: #ff7b72; --danger-bg: #3d1214;
    --committed: #7ee787; --committed-bg: #12261e;
    --restored: #79c0ff; --restored-bg: #0c2d4a;
    --running: #e3b341; --running-bg: #2e2306;
    --waiting: #d2a8ff; --waiting-bg: #2b1b45;
    --failed: #ff7b72; --failed-bg: #3d1214;
    --compensated: #ffa657; --compensated-bg: #3a2210;
    --not-run: #9198a1; --not-run-bg: #161b22;
    --edge: #8b949e;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
a { color: var(--link); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; }
.skip:focus { left: 8px; top: 8px; background: var(--bg); padding: 4px 8px; z-index: 2; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.top { display: flex; gap: 16px; align-items: baseline; padding: 10px 24px; border-bottom: 1px solid var(--line); background: var(--panel); }
.brand { font-weight: 700; font-size: 18px; text-decoration: none; color: var(--fg); }
.top-note, .muted { color: var(--muted); }
main { padding: 16px 24px 48px; max-width: 1400px; margin: 0 auto; }
main:focus { outline: none; }
h1 { font-size: 22px; margin: 8px 0 12px; word-break: break-all; }
h2 { font-size: 17px; margin: 28px 0 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 13px; }
td.id { word-break: break-all; min-width: 10em; }
td.nowrap { white-space: nowrap; }
.table-wrap { overflow-x: auto; }
form.filters { display: flex; flex-wrap: wrap; gap: 12px; align-items: end; margin: 8px 0 16px; }
label { display: flex; flex-direction: column; font-size: 13px; color: var(--muted); gap: 2px; }
input, select, textarea, button { font: inherit; color: var(--fg); background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 5px 8px; }
textarea { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; min-height: 4em; }
button { cursor: pointer; background: var(--panel); }
button.primary { background: var(--link); color: var(--bg); border-color: var(--link); }
button.danger { background: var(--danger); color: var(--bg); border-color: var(--danger); }
button:disabled { opacity: .6; cursor: not-allowed; }
.pager { display: flex; gap: 12px; align-items: center; margin-top: 12px; }
.badge { display: inline-block; border-radius: 999px; padding: 0 10px; font-size: 13px; font-weight: 600; border: 1px solid currentColor; white-space: nowrap; }
.s-completed, .state-committed { color: var(--committed); background: var(--committed-bg); }
.state-restored { color: var(--restored); background: var(--restored-bg); }
.s-running, .state-running { color: var(--running); background: var(--running-bg); }
.s-waiting, .state-waiting { color: var(--waiting); background: var(--waiting-bg); }
.s-failed, .s-corrupted, .state-failed { color: var(--failed); background: var(--failed-bg); }
.s-compensating, .s-compensated, .state-compensated { color: var(--compensated); background: var(--compensated-bg); }
.s-cancelled, .state-not-run { color: var(--not-run); background: var(--not-run-bg); }
.state-skipped { color: var(--not-run); background: var(--not-run-bg); text-decoration: line-through; }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.summary dt { color: var(--muted); }
dl.summary dd { margin: 0; word-break: break-word; }
.notice { border: 1px solid var(--line); border-left: 4px solid var(--running); background: var(--panel); padding: 8px 12px; margin: 12px 0; }
.notice.error { border-left-color: var(--danger); }
.graph-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; padding: 8px; background: var(--panel); }
svg.graph { display: block; max-width: 100%; height: auto; }
svg.graph .edge { fill: none; stroke: var(--edge); stroke-width: 1.5; }
svg.graph .arrow { fill: var(--edge); }
svg.graph rect { stroke: currentColor; stroke-width: 2; fill: currentColor; fill-opacity: 0; }
svg.graph .node rect.back { fill: var(--bg); fill-opacity: 1; stroke: none; }
svg.graph .node.state-committed rect.face { fill: var(--committed-bg); fill-opacity: 1; }
svg.graph .node.state-restored rect.face { fill: var(--restored-bg); fill-opacity: 1; }
svg.graph .node.state-running rect.face { fill: var(--running-bg); fill-opacity: 1; stroke-dasharray: 6 3; }
svg.graph .node.state-waiting rect.face { fill: var(--waiting-bg); fill-opacity: 1; }
svg.graph .node.state-failed rect.face { fill: var(--failed-bg); fill-opacity: 1; stroke-width: 3; }
svg.graph .node.state-compensated rect.face { fill: var(--compensated-bg); fill-opacity: 1; }
svg.graph .node.state-not-run rect.face { fill: var(--not-run-bg); fill-opacity: 1; stroke-dasharray: 3 3; }
svg.graph .node rect.stack { fill: var(--bg); fill-opacity: 1; stroke: currentColor; stroke-opacity: .45; }
svg.graph .node.state-skipped rect.face { fill: var(--not-run-bg); fill-opacity: 1; stroke-dasharray: 1 4; }
svg.graph .node.state-skipped text { text-decoration: line-through; opacity: .75; }
svg.graph .node.branch rect.face { stroke-width: 2.5; }
svg.graph .node { background: none; }
svg.graph text { fill: var(--fg); font-size: 13px; text-anchor: middle; }
svg.graph text.state { fill: currentColor; font-size: 12px; font-weight: 600; }
svg.graph a:focus-visible rect.face { stroke-width: 4; }
.legend { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0 0; padding: 0; list-style: none; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, monospace; }
.json { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
.ignored { text-decoration: line-through; color: var(--muted); }
.ignored-tag { font-size: 11px; border: 1px solid var(--muted); border-radius: 4px; padding: 0 4px; margin-left: 6px; color: var(--muted); font-family: system-ui, sans-serif; }
.actions { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 16px; }
.actions form, .actions section { border: 1px solid var(--line); border-radius: 8px; padding: 12px; display: flex; flex-direction: column; gap: 8px; }
.actions h3 { margin: 0; font-size: 15px; }
.actions .danger-zone { border-color: var(--danger); }
.message { margin: 8px 0; }
.message.error { color: var(--danger); }
/* An element the page hides stays hidden, whatever display its class gives it. */
[hidden] { display: none !important; }
.bulk { margin-top: 16px; border: 1px solid var(--danger); border-radius: 8px; padding: 12px; }
.bulk h2 { margin-top: 0; }
.bulk .row { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-end; margin: 8px 0; }
.bulk label { display: flex; flex-direction: column; gap: 4px; }
button.link { background: none; border: none; padding: 0; color: inherit; text-decoration: underline; cursor: pointer; font: inherit; }
.timeline { list-style: none; margin: 8px 0 0; padding: 0; display: grid; gap: 4px; }
.timeline li { display: grid; grid-template-columns: minmax(80px, 160px) 1fr minmax(120px, 320px); gap: 8px; align-items: center; }
.timeline .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; }
.timeline .track { position: relative; height: 16px; background: var(--panel); border: 1px solid var(--line); border-radius: 3px; }
.timeline .bar { position: absolute; top: 2px; bottom: 2px; min-width: 3px; border-radius: 2px; border: 1px solid currentColor; }
.timeline .bar.tick { width: 3px !important; }
.timeline .bar.wait { border-style: dashed; background: transparent; }
.timeline .took { font-size: 13px; }
`;
