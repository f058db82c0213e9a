"""Atomic outputs: a file appears whole under its final name, or not at all.

Every writer of hinerc (``.hnr`` files, decoded cubes, class maps) goes through
:func:`atomic_outputs`: it writes to a temporary name in the output's own folder and renames it
onto the final name only when everything succeeded (``os.replace`` is atomic within one
filesystem, which a sibling temporary guarantees). Outputs get the permissions a plain
``open()`` would give them (``0o666 & ~umask``), not ``mkstemp``'s private ``0o600``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator, Sequence

from hinerc.errors import InputError


def _umask() -> int:
    """The process umask (read without changing it where /proc allows)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def default_mode() -> int:
    """The mode ``open(path, "w")`` would give a new file: ``0o666 & ~umask``."""
    return 0o666 & ~_umask()


def output_folder(final: Path) -> Path:
    """The folder ``final`` goes in; :class:`InputError` when it does not exist."""
    parent = final.parent if str(final.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{final}: the output folder {parent} does not exist")
    return parent


@contextlib.contextmanager
def atomic_outputs(finals: Sequence[Path]) -> Iterator[list[Path]]:
    """Yield temporary paths (same folders as ``finals``, not existing yet); on success
    rename each onto its final path with ordinary permissions, on any exception (Ctrl-C
    included) delete them all (and a GDAL ``.aux.xml`` beside them)."""
    temps: list[Path] = []
    try:
        for final in finals:
            final = Path(final)
            try:
                fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp",
                                            dir=output_folder(final))
            except PermissionError:
                raise InputError(f"{final}: cannot write in {output_folder(final)} "
                                 "(permission denied)") from None
            os.close(fd)
            os.unlink(name)
            temps.append(Path(name))
        yield temps
        mode = default_mode()
        for tmp, final in zip(temps, finals):
            os.chmod(tmp, mode)
            os.replace(tmp, final)
    except BaseException:
        for tmp in temps:
            for p in (tmp, Path(str(tmp) + ".aux.xml")):
                try:
                    p.unlink()
                except OSError:
                    pass
        raise


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_outputs`)."""
    with atomic_outputs([Path(path)]) as (tmp,):
        with open(tmp, "xb") as fh:
            fh.write(data)
