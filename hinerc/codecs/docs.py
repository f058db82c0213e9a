"""The codecs' part of ``docs/format.md``, made from the registry.

``python -m hinerc.codecs.docs docs/format.md`` rewrites the part between the two markers
below; ``--check`` exits 1 when it is out of date (a test runs the check). A new codec thus
documents its sections in its own package (:attr:`hinerc.codecs.base.Codec.format_doc`) and
appears here with no other file edited by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hinerc import codecs
from hinerc.format.container import plain_order

BEGIN = "<!-- codecs: made by `python -m hinerc.codecs.docs docs/format.md`; edit the codecs -->"
END = "<!-- end of codecs -->"


def render() -> str:
    """The Markdown of every registered codec: a table, then each codec's sections."""
    out = ["| `arch` | model | sections of a plain file | default tile |", "|---|---|---|---|"]
    for name in codecs.names():
        c = codecs.get(name)
        tags = " ".join(plain_order(c.sections))
        if c.optional_sections:
            opt = " ".join(f"[{t}]" for t in c.optional_sections)
            tags = tags.replace(" MASK", f" {opt} MASK")
        out.append(f"| `{name}` | {c.summary} | `{tags}` | {c.default_tile} |")
    for name in codecs.names():
        c = codecs.get(name)
        out += ["", f"### `arch: {name}`", "", c.documentation().strip()]
    return "\n".join(out) + "\n"


def replaced(text: str) -> str:
    """``text`` with the part between the markers made anew."""
    if BEGIN not in text or END not in text:
        raise ValueError("the codec markers are missing")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n\n{render()}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    paths = [a for a in args if a != "--check"] or ["docs/format.md"]
    path = Path(paths[0])
    text = path.read_text()
    new = replaced(text)
    if check:
        if new != text:
            print(f"{path}: the codecs' part is out of date; run python -m hinerc.codecs.docs "
                  f"{path}", file=sys.stderr)
            return 1
        return 0
    path.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
