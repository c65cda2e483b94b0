# -*- coding: utf-8 -*-
# Copyright: (c) 2026, vmo.rbac contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML report's style sheet: data, inlined into the page's ``<style>`` (the page loads nothing).

Class names it styles, by what ``html_format`` writes: the page (``header.page``, ``.verdict``,
``.tiles``/``.tile``, ``.legend``, ``.toolbar``), a cluster (``section.card`` with ``pass``,
``fail``, ``error`` or ``skip``, ``.badge``, ``.stats``, ``.msg``), the matrix (``table.matrix``,
``td.cell`` with ``ok allow``, ``ok deny``, ``violation``, ``unchecked`` or ``na``; ``.persona``
``.p-<persona>``; ``.scope`` ``.k-<scope kind>``) and the lists (``table.list``, ``.action``).
The only-violations filter is CSS alone (``body:has(#only-violations:checked)``).

``CSS_NEWER_PARTS`` styles what newer results add (``.warning`` lines and ``table.scopes`` of the
namespace rules, ``td.cell.pending`` and ``table.pending``, ``td.cell.optional`` with its
``sup.note-ref`` and ``ol.notes``, ``.badge.warn``). The page carries it only when it shows one of
them, so that the page of an older result stays byte-identical.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

CSS = """
:root{--ok:#166534;--ok-bg:#dcfce7;--okd:#3f6212;--okd-bg:#f3f9ee;--bad:#b91c1c;--bad-bg:#fee2e2;
--bad-strong:#dc2626;--warn:#92400e;--warn-bg:#fef3c7;--grey:#4b5563;--grey-bg:#e5e7eb;--line:#d9dee7;
--ink:#111827;--muted:#5b6472;--head:#f5f7fa;--brand:#1e3a5f}
*{box-sizing:border-box}
html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans","DejaVu Sans",sans-serif;
color:var(--ink);background:#eef1f5}
main{max-width:1320px;margin:0 auto;padding:24px 28px 40px}
header.page{background:var(--brand);color:#fff;padding:22px 28px}
header.page .inner{max-width:1320px;margin:0 auto;display:flex;flex-wrap:wrap;gap:18px;align-items:center;
justify-content:space-between;padding:0 28px}
header.page h1{margin:0;font-size:22px;font-weight:650;letter-spacing:.2px}
header.page .sub{color:#c9d6e6;font-size:13px;margin-top:2px}
.verdict{font-weight:800;font-size:15px;letter-spacing:.6px;padding:7px 16px;border-radius:999px;border:2px solid}
.verdict.pass{background:var(--ok-bg);color:var(--ok);border-color:#86efac}
.verdict.fail{background:var(--bad-bg);color:var(--bad);border-color:#fca5a5}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:12px;margin:0 0 20px}
.tile{background:#fff;border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.tile .n{font-size:24px;font-weight:700;line-height:1.1}
.tile .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.5px}
.tile.bad .n{color:var(--bad)}.tile.good .n{color:var(--ok)}.tile.warn .n{color:var(--warn)}
section.card{background:#fff;border:1px solid var(--line);border-radius:12px;padding:18px 20px;margin:0 0 22px;
box-shadow:0 1px 2px rgba(16,24,40,.04)}
section.card.fail{border-top:4px solid var(--bad-strong)}section.card.pass{border-top:4px solid #22c55e}
section.card.error{border-top:4px solid #f59e0b}section.card.skip{border-top:4px solid #9ca3af}
h2{font-size:18px;margin:0 0 4px;display:flex;gap:10px;align-items:center;flex-wrap:wrap}
h3{font-size:14px;margin:20px 0 8px;color:#1f2937;text-transform:uppercase;letter-spacing:.5px}
.stats{color:var(--muted);margin:0 0 8px}
.badge{display:inline-block;white-space:nowrap;font-size:11px;font-weight:700;letter-spacing:.5px;padding:2px 9px;
border-radius:999px;vertical-align:middle}
.badge.pass{background:var(--ok-bg);color:var(--ok)}.badge.fail{background:var(--bad-bg);color:var(--bad)}
.badge.error{background:var(--warn-bg);color:var(--warn)}.badge.skip{background:var(--grey-bg);color:var(--grey)}
.scroll{overflow-x:auto}
table{border-collapse:separate;border-spacing:0;width:100%;font-size:13px}
caption{text-align:left;color:var(--muted);font-size:12px;padding:0 0 6px}
th,td{border-bottom:1px solid var(--line);padding:6px 9px;text-align:left;vertical-align:top}
thead th{background:var(--head);font-weight:650;color:#374151;border-top:1px solid var(--line)}
table.list td.num,table.list th.num{text-align:right;font-variant-numeric:tabular-nums}
table.matrix{width:auto;min-width:100%}
table.matrix thead th.cap{text-align:center;font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:11.5px;
white-space:nowrap;padding:8px 6px}
table.matrix th[scope=row]{font-weight:600;min-width:230px;background:#fff;border-left:4px solid transparent;
position:sticky;left:0;z-index:1}
table.matrix tr.has-violation th[scope=row]{border-left-color:var(--bad-strong);background:#fff7f7}
.who{display:block}.meta{display:flex;flex-wrap:wrap;gap:4px;margin-top:3px;font-weight:400}
.persona{font-size:11px;padding:1px 7px;border-radius:999px;background:#e0e7ff;color:#3730a3}
.persona.p-admin{background:#ede9fe;color:#5b21b6}.persona.p-power-user{background:#dbeafe;color:#1e40af}
.persona.p-user{background:#ccfbf1;color:#115e59}.persona.p-viewer{background:#e2e8f0;color:#334155}
.scope{font-size:11px;padding:1px 7px;border-radius:4px;background:#f3f4f6;color:#374151;border:1px solid #e5e7eb}
.scope.k-outside{background:#fff7ed;color:#9a3412;border-color:#fed7aa}
.scope.k-cluster,.scope.k-all-namespaces{background:#eef2ff;color:#3730a3;border-color:#c7d2fe}
td.cell{text-align:center;vertical-align:middle;white-space:nowrap;font-size:12px;min-width:84px;
border-left:1px solid #fff;padding:6px 5px}
td.cell .m{font-weight:700}
td.cell.ok.allow{background:var(--ok-bg);color:var(--ok)}
td.cell.ok.deny{background:var(--okd-bg);color:var(--okd)}
td.cell.violation{background:var(--bad-strong);color:#fff;font-weight:700}
td.cell.violation .k{display:block;font-size:10.5px;letter-spacing:.8px}
td.cell.violation .a{display:block;font-weight:500;font-size:11px}
td.cell.unchecked{background:repeating-linear-gradient(135deg,#eceef1 0 6px,#e3e6ea 6px 12px);color:var(--grey)}
td.cell.na{color:#9ca3af;background:#fafbfc}
.legend{display:flex;flex-wrap:wrap;gap:8px 14px;align-items:center;font-size:12px;color:var(--muted);margin:6px 0 14px}
.legend .sw{display:inline-block;min-width:74px;text-align:center;padding:3px 6px;border-radius:4px;margin-right:4px}
.sw.ok.allow{background:var(--ok-bg);color:var(--ok)}.sw.ok.deny{background:var(--okd-bg);color:var(--okd);
border:1px solid #e2ecd9}.sw.violation{background:var(--bad-strong);color:#fff;font-weight:700}
.sw.unchecked{background:#e5e7eb;color:var(--grey)}.sw.na{background:#fafbfc;color:#9ca3af;border:1px solid #eee}
.toolbar{display:flex;align-items:center;gap:8px;margin:0 0 16px;font-size:13px}
.toolbar input{width:16px;height:16px}
body:has(#only-violations:checked) tr.row-clean{display:none}
body:has(#only-violations:checked) section.card.pass{display:none}
.msg{background:var(--warn-bg);color:#78350f;border:1px solid #fde68a;border-radius:8px;padding:10px 12px;margin:8px 0}
.action{font-size:11px;font-weight:700;padding:1px 7px;border-radius:4px;background:#fef3c7;color:#92400e;
text-transform:uppercase;letter-spacing:.4px}
.action.a-conflict,.action.a-delete{background:#fee2e2;color:#991b1b}
code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:11.5px;background:#f3f4f6;padding:1px 4px;
border-radius:4px;overflow-wrap:anywhere}
table.failed-checks tr.check td{border-bottom:none;padding-bottom:2px}
table.failed-checks tr.repro td{padding-top:0;font-size:12px}
.yes{color:var(--bad);font-weight:700}.no{color:var(--bad);font-weight:700}
details summary{cursor:pointer;color:#1f2937;font-weight:600;margin:14px 0 6px}
.present{color:var(--ok);font-weight:600}.absent{color:var(--bad);font-weight:700}
.muted{color:var(--muted)}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);border:0}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:8px}
a{color:#1d4ed8}
@media print{body{background:#fff}section.card{break-inside:avoid-page;box-shadow:none}.toolbar{display:none}}
"""

CSS_NEWER_PARTS = """
.badge.warn{background:var(--warn-bg);color:var(--warn)}
.warning{background:var(--warn-bg);color:#78350f;border:1px solid #fde68a;border-left:4px solid #f59e0b;
border-radius:8px;padding:8px 12px;margin:8px 0}
table.scopes tr.nothing td{background:#fffbeb}
table.scopes code{white-space:nowrap}
table.scopes .nothing{color:var(--warn)}
table.scopes .count{font-weight:700;font-variant-numeric:tabular-nums;margin-right:4px}
table.scopes details.more summary{margin:2px 0 0;font-weight:400;color:#1d4ed8}
td.cell.pending{background:var(--warn-bg);color:var(--warn);font-weight:700;
outline:1px dashed #f59e0b;outline-offset:-3px}
td.cell.pending .k{display:block;font-size:10.5px;letter-spacing:.8px}
td.cell.pending .a{display:block;font-weight:500;font-size:11px}
.sw.pending{background:var(--warn-bg);color:var(--warn);font-weight:700}
span.pending{font-size:11px;font-weight:700;padding:1px 7px;border-radius:4px;background:var(--warn-bg);
color:var(--warn)}
sup.note-ref{font-size:10px;line-height:0;margin-left:2px}
sup.note-ref a{text-decoration:none;font-weight:700}
ol.notes{margin:8px 0 4px;padding-left:22px;font-size:12.5px}
ol.notes li{margin:2px 0}
ol.notes li:target{background:var(--warn-bg)}
"""
