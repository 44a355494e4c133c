# Copyright: pirack.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report as GitHub-flavoured Markdown (report.md)."""

from __future__ import annotations

from typing import List, Sequence

from ansible_collections.pirack.cluster.plugins.module_utils.bench.document import Block


def to_markdown(doc: Sequence[Block]) -> str:
    """GitHub-flavoured Markdown; images referenced by file name."""
    parts: List[str] = []
    for kind, content in doc:
        if kind == "h1":
            parts.append(f"# {content}")
        elif kind == "h2":
            parts.append(f"## {content}")
        elif kind == "p":
            parts.append(content)
        elif kind == "list":
            parts.append("\n".join(f"- {line}" for line in content))
        elif kind == "table":
            header, rows = content
            esc = [[c.replace("|", "\\|").replace("\n", " ") for c in row]
                   for row in [header] + rows]
            lines = ["| " + " | ".join(esc[0]) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(row) + " |" for row in esc[1:]]
            parts.append("\n".join(lines))
        elif kind == "img":
            parts.append(f"![{content}]({content}.png)")
    return "\n\n".join(parts) + "\n"
