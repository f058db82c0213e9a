"""docs/format.md must describe the HEAD table and the sections the code writes."""

import re
import struct
from pathlib import Path

from hinerc.format.container import LOWRANK_ORDER, SECTION_ORDER, TILED_ORDER
from hinerc.format.header import HEAD_FIELDS

DOC = Path(__file__).resolve().parents[1] / "docs" / "format.md"


def test_head_table_matches_code():
    text = DOC.read_text()
    rows = re.findall(r"^\| `(\w+)` \| (\d+) \| (.+) \|$", text, flags=re.M)
    head = [(n, int(b)) for n, b, _ in rows if n in {f[0] for f in HEAD_FIELDS}]
    assert head == [(n, struct.calcsize("<" + c)) for n, c, _ in HEAD_FIELDS]
    total = sum(struct.calcsize("<" + c) for _, c, _ in HEAD_FIELDS)
    assert f"### `HEAD`: the fixed header ({total} bytes)" in text


def test_every_section_documented():
    text = DOC.read_text()
    for tag in SECTION_ORDER + LOWRANK_ORDER + TILED_ORDER:
        assert f"### `{tag}`" in text
    assert " ".join(LOWRANK_ORDER) in text and " ".join(SECTION_ORDER) in text
