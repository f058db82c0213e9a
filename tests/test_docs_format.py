"""docs/format.md must describe the HEAD table, the sections every file has, and every codec
of the registry exactly as the registry documents it."""

import re
import struct
from pathlib import Path

from hinerc import codecs
from hinerc.codecs import docs
from hinerc.format.container import HEAD_SECTIONS, TAIL_SECTIONS, TILED_ORDER, plain_order
from hinerc.format.header import HEAD_FIELDS

DOC = Path(__file__).resolve().parents[1] / "docs" / "format.md"


def test_head_table_matches_code():
    text = DOC.read_text()
    rows = re.findall(r"^\| `(\w+)` \| (\d+) \| (.+) \|$", text, flags=re.M)
    head = [(n, int(b)) for n, b, _ in rows if n in {f[0] for f in HEAD_FIELDS}]
    assert head == [(n, struct.calcsize("<" + c)) for n, c, _ in HEAD_FIELDS]
    total = sum(struct.calcsize("<" + c) for _, c, _ in HEAD_FIELDS)
    assert f"### `HEAD`: the fixed header ({total} bytes)" in text


def test_every_common_section_documented():
    text = DOC.read_text()
    for tag in HEAD_SECTIONS + TAIL_SECTIONS + TILED_ORDER:
        assert f"### `{tag}`" in text


def test_the_codecs_part_is_what_the_registry_makes():
    text = DOC.read_text()
    assert docs.replaced(text) == text, "run: python -m hinerc.codecs.docs docs/format.md"
    assert docs.main(["--check", str(DOC)]) == 0
    for name in codecs.names():
        codec = codecs.get(name)
        assert f"### `arch: {name}`" in text
        optional = "".join(f" [{t}]" for t in codec.optional_sections)
        assert " ".join(plain_order(codec.sections)).replace(" MASK", optional + " MASK") in text
        for tag in codec.sections + codec.optional_sections:
            assert f"**{tag}**" in codec.documentation(), (name, tag)


def test_a_stale_codecs_part_is_caught(tmp_path):
    stale = tmp_path / "format.md"
    stale.write_text(DOC.read_text().replace("| `lowrank` |", "| `lowrank-old` |"))
    assert docs.main(["--check", str(stale)]) == 1
    assert docs.main([str(stale)]) == 0 and stale.read_text() == DOC.read_text()
