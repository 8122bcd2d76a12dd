// The dashboard's only asset, served from /assets/style.css (no CDN, no inline styles: the CSP allows
// styles from 'self' only).
export const STYLE_CSS = `
:root { color-scheme: light; --fg: #1f2328; --muted: #57606a; --line: #d0d7de; --bg: #ffffff; --bad: #a40e26; --ok: #116329; --warn: #7d4e00; }
* { box-sizing: border-box; }
body { font: 14px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); margin: 0; }
header { display: flex; gap: 1.5rem; align-items: baseline; padding: .75rem 1.5rem; border-bottom: 1px solid var(--line); background: #f6f8fa; }
header .brand { font-weight: 700; font-size: 1.1rem; color: var(--fg); text-decoration: none; }
header nav a { margin-right: 1rem; color: #0550ae; }
main { padding: 1rem 1.5rem 3rem; max-width: 1400px; }
h1 { font-size: 1.4rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
code, .mono { font-family: ui-monospace, monospace; font-size: 12.5px; }
.badge { display: inline-block; white-space: nowrap; padding: 0 .45rem; border-radius: 1rem; font-size: 12px; font-weight: 600; border: 1px solid currentColor; }
.ok { color: var(--ok); } .bad { color: var(--bad); } .warn { color: var(--warn); } .muted { color: var(--muted); }
form.filter { display: flex; gap: .5rem; align-items: center; margin-bottom: .5rem; }
form.filter input[type=search] { padding: .3rem .5rem; width: 20rem; border: 1px solid var(--line); border-radius: 4px; }
form.filter button { padding: .3rem .8rem; }
.summary { display: flex; gap: 1rem; margin: .5rem 0 1rem; }
.summary div { border: 1px solid var(--line); border-radius: 6px; padding: .5rem 1rem; }
.summary strong { display: block; font-size: 1.3rem; }
figure.chart { margin: .5rem 0 1rem; }
figcaption .k::before { content: ""; display: inline-block; width: .7rem; height: .7rem; margin: 0 .25rem 0 .5rem; vertical-align: -1px; }
.k.applied::before { background: #1a7f37; } .k.refused::before { background: #cf222e; } .k.drift::before { background: #9a6700; } .k.other::before { background: #57606a; }
a { color: #0550ae; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: .5rem; background: #fff; }
`;
