"""The look the lifecycle page and the model cards share: one style sheet, inline in each page.

Its own module so that a change to the page's code re-runs the page alone, while a change to
the shared look re-writes the cards too (their step, register, imports it).
"""

CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f4f5f7;color:#1d2733;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif}
main{max-width:1240px;margin:0 auto;padding:18px 20px 40px}
header h1{font-size:23px;margin:4px 0 2px}
header p{margin:0;color:#4a5560}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:14px 18px 10px;margin:16px 0;overflow-x:auto}
h2{font-size:17px;margin:0 0 2px}
p.sub{color:#4a5560;font-size:13px;margin:0 0 10px;max-width:70em}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0 4px}
.card{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:8px 14px;min-width:150px}
.card b{display:block;font-size:20px;font-weight:650}
.card small{font-size:13px;font-weight:500;margin-left:5px;color:#4a5560}
.card span{color:#4a5560;font-size:12.5px}
.card.alert b{color:#c0392b}
svg{display:block;max-width:100%;height:auto;font-family:inherit}
svg text{fill:#1d2733}
.halo{paint-order:stroke;stroke:#fff;stroke-width:4px;stroke-linejoin:round}
.wk{fill:#000;fill-opacity:0}
.wk:hover{fill-opacity:.09}
.side{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
table{border-collapse:collapse;font-size:13px;font-variant-numeric:tabular-nums}
th,td{padding:4px 10px;border-bottom:1px solid #e5e8ec;text-align:right;white-space:nowrap}
th{background:#f4f5f7;font-weight:600;white-space:normal;vertical-align:bottom;min-width:5.5em}
th:nth-child(-n+2){min-width:0}
th:first-child,td:first-child,td.text{text-align:left}
td.text{white-space:normal;max-width:20em;overflow-wrap:break-word}
td.reason{white-space:normal;text-align:left;vertical-align:top;min-width:12em;max-width:34em;overflow-wrap:break-word}
#decisions-table td:first-child,#quiet-table td:first-child{vertical-align:top}
#decisions-table th,#quiet-table th{text-align:left}
b.fired{color:#c0392b}
details{margin:4px 0}
summary{cursor:pointer;color:#0b4f8a}
table.psi{font-size:12px;margin-top:4px;width:100%}
table.psi th,table.psi td{padding:1px 6px;min-width:0}
.policies-plot svg{width:100%;height:auto}
footer{color:#6b7580;font-size:12px;margin-top:18px}
"""
