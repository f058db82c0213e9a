"""Every command the README shows works as printed, on the bundled sample.

The README's shell blocks are run line by line (the first block's setup steps aside: they are
what CI itself runs) in a scratch folder that sees the repository's ``examples/`` and
``tests/``, with ``hinerc`` on the PATH; its Python blocks are executed there too. A command
that needs what no test machine has (a CUDA device, a Dask cluster) is listed in :data:`NEEDS`
with the reason, and nothing else may be skipped.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from marks import requires_cuda

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: Lines that cannot run on a test machine, by a word they contain, and why.
NEEDS = {
    "--scheduler": "a running Dask cluster",
    "dask scheduler": "a running Dask cluster",
    "dask worker": "a running Dask cluster",
    "pip install": "installs packages (the setup line: CI runs it)",
    "python3 -m venv": "makes a virtual environment (the setup line: CI runs it)",
}
CUDA = "--device cuda"


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", README.read_text(), flags=re.S)


def commands() -> list[str]:
    """Every shell command of the README, in order (``&&`` chains split, comments cut)."""
    out = []
    for block in blocks("bash"):
        for line in block.splitlines():
            line = line.split(" #", 1)[0].strip()
            if line.startswith("#") or not line:
                continue
            out += [part.strip() for part in line.split(" && ")]
    return out


def runnable(cmd: str) -> bool:
    return not any(word in cmd for word in NEEDS) and (CUDA not in cmd or _has_cuda())


def _has_cuda() -> bool:
    return not requires_cuda.args[0]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> tuple[Path, dict]:
    """A folder like the repository's root, and an environment with ``hinerc`` on the PATH."""
    work = tmp_path_factory.mktemp("readme")
    for name in ("examples", "tests"):
        (work / name).symlink_to(ROOT / name)
    bin_dir = tmp_path_factory.mktemp("bin")
    shim = bin_dir / "hinerc"
    shim.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m hinerc \"$@\"\n")
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    (work / ".venv" / "bin").mkdir(parents=True)
    (work / ".venv" / "bin" / "hinerc").symlink_to(shim)
    (work / ".venv" / "bin" / "python").symlink_to(sys.executable)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
               PYTHONPATH=str(ROOT), COLUMNS="100")
    return work, env


def test_the_readme_starts_with_the_two_commands():
    first, second = blocks("bash")[:2]
    assert "examples/data/jasper_ridge_crop.hdr" in first and ".venv/bin/hinerc" in first
    ci = (ROOT / ".ci" / "run").read_text()
    assert second.strip() in ci, "the README's test command is what .ci/run runs"


def test_only_what_needs_a_cluster_or_a_gpu_is_skipped():
    skipped = [c for c in commands() if not runnable(c)]
    assert all(any(w in c for w in NEEDS) or CUDA in c for c in skipped)
    assert len([c for c in commands() if c.startswith(("hinerc", ".venv/bin/hinerc"))]) >= 8


@pytest.mark.slow
def test_every_readme_command_runs_as_printed(scratch):
    work, env = scratch
    ran = []
    for cmd in commands():
        if not runnable(cmd) or cmd.startswith(".venv/bin/python -m pytest"):
            continue  # (the test command runs this very test)
        r = subprocess.run(["bash", "-c", cmd], cwd=work, env=env, capture_output=True,
                           text=True, timeout=900)
        assert r.returncode == 0, f"{cmd}\n{r.stderr[-2000:]}"
        assert "Traceback" not in r.stderr, f"{cmd}\n{r.stderr[-2000:]}"
        ran.append(cmd)
    assert ran
    for code in blocks("python"):
        r = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True,
                           text=True, timeout=900)
        assert r.returncode == 0, f"{code}\n{r.stderr[-2000:]}"
