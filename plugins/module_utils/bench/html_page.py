# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report as one self-contained HTML page (report.html)."""

from __future__ import annotations

import base64
import html
from typing import List, Mapping, Sequence

from ansible_collections.pirack.cluster.plugins.module_utils.bench.document import Block

HTML_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;"
    "color:#222}table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}"
    "th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}"
    "th{background:#f2f2f2}img{max-width:100%;border:1px solid #ddd;margin:.5rem 0}"
)


def to_html(doc: Sequence[Block], images: Mapping[str, bytes]) -> str:
    """A single self-contained page: PNGs are inlined as data: URIs so the
    file can be mailed or opened from a USB stick on an offline rack."""
    title = next((c for k, c in doc if k == "h1"), "pirack benchmark")
    body: List[str] = []
    for kind, content in doc:
        if kind in ("h1", "h2"):
            body.append(f"<{kind}>{html.escape(content)}</{kind}>")
        elif kind == "p":
            body.append(f"<p>{html.escape(content)}</p>")
        elif kind == "list":
            body.append("<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in content) + "</ul>")
        elif kind == "table":
            header, rows = content
            head = "".join(f"<th>{html.escape(c)}</th>" for c in header)
            cells = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                            for row in rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>")
        elif kind == "img":
            data = base64.b64encode(images[content]).decode("ascii")
            body.append(f'<img alt="{html.escape(content)}" src="data:image/png;base64,{data}">')
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{HTML_STYLE}</style></head>"
            f"<body>\n" + "\n".join(body) + "\n</body></html>\n")
