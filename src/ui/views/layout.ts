/**
 * The page shell: navigation and one inline <style> block. No script, no web fonts, no CDN: the dashboard works on
 * an air-gapped machine and under a Content-Security-Policy that forbids everything but inline styles.
 */
import { html, trusted, type HtmlValue } from '../html.js';
import { TONES, type Tone } from './tones.js';
import { uiHref } from './urls.js';

export type Section = 'overview' | 'pipelines' | 'experiments' | 'models' | 'predictions' | 'datasets';

const SECTIONS: Array<{ id: Section; label: string; path: string[] }> = [
  { id: 'overview', label: 'Overview', path: [] },
  { id: 'pipelines', label: 'Pipelines', path: ['pipelines'] },
  { id: 'experiments', label: 'Experiments', path: ['experiments'] },
  { id: 'models', label: 'Models', path: ['models'] },
  { id: 'predictions', label: 'Predictions', path: ['predictions'] },
  { id: 'datasets', label: 'Datasets', path: ['datasets'] },
];

const toneCss = (Object.entries(TONES) as Array<[Tone, (typeof TONES)[Tone]]>)
  .map(([tone, c]) => `.tone-${tone}{background:${c.fill};color:${c.text};border-color:${c.stroke}}`)
  .join('\n');

const CSS = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1e293b;background:#f4f6f9}
a{color:#1d4ed8;text-decoration:none}a:hover{text-decoration:underline}
header{background:#0f172a;color:#e2e8f0}
.bar{max-width:1240px;margin:0 auto;padding:0 20px;display:flex;align-items:center;gap:28px;height:52px}
.brand{font-weight:700;font-size:16px;color:#fff;letter-spacing:.2px}
.brand span{color:#60a5fa}
header nav a{color:#cbd5e1;padding:16px 2px;border-bottom:3px solid transparent;margin-right:14px}
header nav a:hover{color:#fff;text-decoration:none}
header nav a.active{color:#fff;border-bottom-color:#60a5fa}
header .docs{margin-left:auto;color:#94a3b8;font-size:13px}
header .logout button{background:none;border:0;padding:0;color:#94a3b8;font:inherit;font-size:13px;cursor:pointer}
main{max-width:1240px;margin:0 auto;padding:20px}
h1{font-size:22px;margin:4px 0 4px;font-weight:650}
h1 .badge{vertical-align:middle;margin-left:8px}
.crumbs{font-size:13px;color:#64748b;margin-bottom:2px}
.crumbs a{color:#64748b}
.subtitle{color:#64748b;margin:0 0 16px}
h2{font-size:15px;margin:0;font-weight:650}
h3{font-size:14px;margin:14px 0 6px}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:14px 16px;margin-bottom:16px}
.card-head{display:flex;align-items:baseline;gap:12px;margin-bottom:10px}
.card-head .aside{margin-left:auto;font-size:13px;color:#64748b}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:16px}
.grid2>.card{margin-bottom:0}.grid2{margin-bottom:16px}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:13px}
th{text-align:left;font-weight:600;color:#475569;background:#f8fafc;border-bottom:1px solid #e2e8f0;padding:7px 10px;white-space:nowrap}
td{border-bottom:1px solid #f1f5f9;padding:6px 10px;vertical-align:top}
tr:last-child td{border-bottom:0}
tbody tr:hover td{background:#f8fafc}
tr:target td{background:#fef9c3}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f1f5f9;padding:1px 5px;border-radius:4px}
pre{font:12px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#0f172a;color:#e2e8f0;padding:10px 12px;border-radius:6px;overflow:auto;max-height:420px;margin:6px 0;white-space:pre-wrap;word-break:break-word}
pre.json{background:#f8fafc;color:#1e293b;border:1px solid #e2e8f0;max-height:260px}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600;border:1px solid;white-space:nowrap;line-height:18px}
${toneCss}
.muted{color:#64748b}
.nowrap{white-space:nowrap}
.error{color:#b91c1c}
.kv{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;margin:0;font-size:13px}
.kv dt{color:#64748b}.kv dd{margin:0;word-break:break-word}
.stats{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:16px}
.stat{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:12px 16px;min-width:170px;flex:1}
.stat-value{font-size:24px;font-weight:650;font-variant-numeric:tabular-nums}
.stat-label{color:#64748b;font-size:13px}.stat-note{color:#94a3b8;font-size:12px;margin-top:2px}
.chips{display:flex;flex-wrap:wrap;gap:6px;margin:0 0 14px}
.chip{border:1px solid #cbd5e1;border-radius:999px;padding:3px 12px;font-size:13px;color:#334155;background:#fff}
.chip.active{background:#1d4ed8;border-color:#1d4ed8;color:#fff}
.chip:hover{text-decoration:none;border-color:#1d4ed8}
.pager{display:flex;justify-content:space-between;align-items:center;margin-top:10px;font-size:13px}
details{border:1px solid #e2e8f0;border-radius:6px;padding:6px 10px;margin:6px 0;background:#fff}
details summary{cursor:pointer;font-size:13px}
details[open] summary{margin-bottom:4px}
.task{margin-top:14px}
.task h3{display:flex;gap:8px;align-items:center}
.chart{max-width:100%;height:auto;display:block}
.chart text{font:11px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:#475569}
.chart .axis-label{font-size:12px;fill:#334155}
.chart .legend{font-size:12px;fill:#334155}
.chart .axis{stroke:#94a3b8;stroke-width:1}
.chart .grid{stroke:#e2e8f0;stroke-width:1}
.graph{max-width:100%;height:auto;display:block}
.graph text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
.graph .task-name{font-weight:600}
.graph a:hover rect{stroke-width:3}
.tag{display:inline-block;background:#f1f5f9;border-radius:4px;padding:0 6px;margin:0 4px 2px 0;font-size:12px}
`;

export interface PageOptions {
  /** Prefix the plugin is mounted under ('' at the root). */
  base: string;
  section: Section;
  title: string;
  /** A one-line heading decoration (e.g. a status badge) after the title. */
  titleAside?: HtmlValue;
  subtitle?: HtmlValue;
  crumbs?: Array<{ label: string; href: string }>;
  body: HtmlValue;
}

export function page(o: PageOptions): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${o.title} · mldeploy</title><style>${trusted(CSS)}</style></head>
<body><header><div class="bar"><a class="brand" href="${uiHref(o.base)}">ml<span>deploy</span></a><nav>${SECTIONS.map(
    (s) => html`<a href="${uiHref(o.base, s.path)}"${s.id === o.section ? html` class="active"` : ''}>${s.label}</a>`,
  )}</nav><a class="docs" href="/docs">API docs</a><form class="logout" method="post" action="/logout" enctype="text/plain"><button>Log out</button></form></div></header>
<main>${o.crumbs?.length ? html`<div class="crumbs">${o.crumbs.map((c, i) => html`${i ? ' / ' : ''}<a href="${c.href}">${c.label}</a>`)}</div>` : ''}
<h1>${o.title}${o.titleAside ?? ''}</h1>${o.subtitle ? html`<p class="subtitle">${o.subtitle}</p>` : ''}
${o.body}</main></body></html>`.value;
}
