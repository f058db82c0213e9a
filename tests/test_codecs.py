"""The codec interface: a codec is one class and one registry line. A tiny codec defined here
(a coarse quantization of the cube) goes through the API, ``info`` and the CLI with no other file
touched; the registry refuses what it must; imports point one way."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

import hinerc
from hinerc import codecs
from hinerc.cli import cli
from hinerc.codecs.base import Codec, EncodedModel
from hinerc.errors import CorruptFileError, UsageError

from conftest import make_cube

ROOT = Path(__file__).resolve().parents[1] / "hinerc"
pytestmark = pytest.mark.filterwarnings("ignore::hinerc.HinercWarning")


class CoarseCodec(Codec):
    """Every coded band's normalised samples rounded to ``levels`` steps, deflated."""

    name = "coarse-test"
    summary = "normalised samples rounded to a few levels (a test codec)"
    sections = ("QSMP",)
    payload_sections = ("QSMP",)
    default_tile = 64
    efforts = {level: 2 ** (level + 1) for level in range(1, 10)}  # levels per sample
    format_doc = "**QSMP**: the deflated uint16 samples, band by band."

    def encode(self, job):
        levels = job.preset
        q = np.rint(job.prep.target * (levels - 1)).astype("<u2")
        model = {"arch": self.name, "levels": levels}
        # no rate control: its file is what it is, which the pipeline takes as long as it is
        # not larger than the target ("saturated": it warns that the file is smaller)
        return EncodedModel(model, {"QSMP": zlib.compress(q.tobytes(), 9)},
                            (q / (levels - 1)).astype(np.float32), int(q.size), saturated=True)

    def parse(self, model, sections, header):
        levels = model.get("levels")
        if not isinstance(levels, int) or not 2 <= levels <= 65536:
            raise CorruptFileError("invalid model configuration (levels)")
        raw = zlib.decompress(sections["QSMP"])
        if len(raw) != 2 * header.n_coded * header.height * header.width:
            raise CorruptFileError("QSMP does not match the header")
        return levels, raw

    def decode(self, content, header, device):
        levels, raw = content
        q = np.frombuffer(raw, "<u2").reshape(header.n_coded, header.height, header.width)
        return (q / (levels - 1)).astype(np.float32)

    def describe(self, parts, sizes, report):
        return {"summary": f"coarse, {parts[0].content[0]} levels", "levels": parts[0].content[0]}


@pytest.fixture
def coarse():
    codecs.register(CoarseCodec)
    yield CoarseCodec.name
    codecs.unregister(CoarseCodec.name)


def test_a_new_codec_round_trips_through_the_api(tmp_path, coarse):
    cube = make_cube()
    out = tmp_path / "c.hnr"
    res = hinerc.compress(cube, out, bpppb=16.0, arch=coarse, effort=9, force=True)
    assert res.arch == coarse and out.exists()
    back = hinerc.decompress(out)
    assert back.shape == cube.shape and back.dtype == cube.dtype
    err = np.abs(back.data.astype(float) - cube.data).max()
    span = float(cube.data.max() - cube.data.min())
    assert err <= span / (2 ** 10 - 1)  # one step of 1024 levels, at most
    facts = hinerc.inspect(out)
    assert facts["arch"] == coarse and facts["levels"] == 1024
    assert facts["model_summary"] == "coarse, 1024 levels"
    assert facts["model_sections"]["QSMP"] > 0
    # tiled too: the pipeline cuts, the codec never knows
    tiled = tmp_path / "t.hnr"
    hinerc.compress(make_cube(h=40, w=36), tiled, bpppb=16.0, arch=coarse, tile=20, effort=9)
    assert hinerc.inspect(tiled)["tiles"] == 4
    assert hinerc.decompress(tiled).shape == (40, 36, 12)


def test_a_new_codec_through_the_cli(tmp_path, runner, coarse):
    np.save(tmp_path / "c.npy", make_cube().data)
    out = tmp_path / "c.hnr"
    r = runner.invoke(cli, ["compress", str(tmp_path / "c.npy"), "-o", str(out), "--arch",
                            coarse, "--bpppb", "16", "-e", "9", "--json", "--quiet"])
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["arch"] == coarse
    r = runner.invoke(cli, ["info", str(out)])
    assert r.exit_code == 0 and "coarse, 1024 levels" in r.stdout
    r = runner.invoke(cli, ["decompress", str(out), "-o", str(tmp_path / "d.npy")])
    assert r.exit_code == 0, r.stderr
    # a codec's own option is refused for the others, with a usage error
    r = runner.invoke(cli, ["compress", str(tmp_path / "c.npy"), "-o", str(tmp_path / "x.hnr"),
                            "--arch", coarse, "--epochs", "3"])
    assert r.exit_code == 2 and "--epochs" in r.stderr


def test_a_file_of_an_unregistered_codec_is_refused_in_one_line(tmp_path, runner, coarse):
    out = tmp_path / "c.hnr"
    hinerc.compress(make_cube(), out, bpppb=16.0, arch=coarse)
    codecs.unregister(coarse)
    r = runner.invoke(cli, ["info", str(out)])
    assert r.exit_code == 1 and "not one this hinerc knows" in r.stderr
    codecs.register(CoarseCodec)


def test_registry_checks():
    assert codecs.names()[0] == codecs.DEFAULT == "lowrank"
    with pytest.raises(UsageError, match="--arch must be one of"):
        codecs.get("nope")
    with pytest.raises(ValueError, match="already registered"):
        codecs.register(type("Again", (CoarseCodec,), {"name": "lowrank"}))
    for name in codecs.names():
        c = codecs.get(name)
        assert c.name == name and c.sections
        assert set(c.payload_sections) <= set(c.sections + c.optional_sections)
        assert sorted(c.efforts) == list(range(1, 10))
        assert c.documentation()


@pytest.mark.parametrize("kwargs, flag", [({"epochs": 2}, "--epochs"), ({"lr": 1e-3}, "--lr"),
                                          ({"bands_per_step": 2}, "--bands-per-step"),
                                          ({"colour": 1}, "--colour")])
def test_options_of_another_codec_are_usage_errors(tmp_path, kwargs, flag):
    with pytest.raises(UsageError, match=flag):
        hinerc.compress(make_cube(), None, bpppb=4.0, **kwargs)


# ----------------------------------------------------------------------------- structure
def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def _package_imports(package: str) -> dict[str, set[str]]:
    return {str(p.relative_to(ROOT)): _imports(p) for p in (ROOT / package).rglob("*.py")}


def _refers(names: set[str], *prefixes: str) -> set[str]:
    return {n for n in names for p in prefixes if n == p or n.startswith(p + ".")}


def test_imports_point_one_way():
    api_side = ("hinerc.cli", "hinerc.api", "hinerc.batch", "hinerc.pipeline")
    for module, names in _package_imports("format").items():
        assert not _refers(names, "hinerc.codecs", "hinerc.io", "torch", *api_side), module
    for module, names in _package_imports("codecs").items():
        assert not _refers(names, *api_side), module
    for module, names in _package_imports("io").items():
        assert not _refers(names, "hinerc.codecs", "hinerc.format", "torch", *api_side), module


def test_no_codec_name_is_compared_outside_the_codecs():
    """``arch == "lowrank"`` and the like live in the registry only."""
    names = "|".join(codecs.names())
    pattern = rf"""(==|!=|\bin\b)\s*\(?\s*["']({names})["']|["']({names})["']\s*(==|!=)"""
    import re

    for path in ROOT.rglob("*.py"):
        if "codecs" in path.relative_to(ROOT).parts:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            assert not re.search(pattern, line), f"{path.relative_to(ROOT)}:{n}: {line.strip()}"


@pytest.mark.parametrize("code", [
    "import hinerc.format.container, hinerc.format.header",
    "from hinerc.cli import main\ntry: main(['info', PATH])\nexcept SystemExit: pass",
    "import hinerc\nhinerc.inspect(PATH)",
    "import hinerc\nhinerc.decompress(PATH)",
])
def test_format_info_and_lowrank_decoding_never_import_torch(tiny_hnr, code):
    code = code.replace("PATH", repr(str(tiny_hnr)))
    r = subprocess.run([sys.executable, "-c", code + "\nimport sys\n"
                        "assert 'torch' not in sys.modules, 'torch imported'"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
