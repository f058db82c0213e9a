"""What hinerc writes, and how: never the input, never an existing file without ``force``, never
into a missing folder (all checked before any work), and atomically: a file appears whole
under its final name, or not at all.

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
from typing import Iterable, Iterator, Optional, Sequence

from hinerc.errors import InputError, OutputExistsError, UsageError

#: The first bytes of every ``.hnr`` (:data:`hinerc.format.container.SIGNATURE`).
HNR_SIGNATURE = b"\x89HNR\r\n\x1a\n"
#: Extensions that name a cube format: ``compress`` never writes one (that is ``decompress``).
CUBE_EXTENSIONS = (".tif", ".tiff", ".hdr", ".img", ".dat", ".bsq", ".bil", ".bip", ".raw",
                   ".mat", ".npy", ".png", ".jpg", ".jpeg", ".jp2", ".j2k", ".h5", ".nc")


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


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def check_output(output: Path, inputs: Iterable[Path], force: bool) -> None:
    """Refuse to overwrite an input, or an existing output without ``force``, or to write into
    a folder that does not exist (checked before any work, so no encode is wasted)."""
    output = Path(output)
    output_folder(output)
    for src in inputs:
        if _same_file(output, Path(src)):
            raise OutputExistsError(f"{output}: refusing to overwrite the input")
    if output.exists() and not force:
        raise OutputExistsError(f"{output} exists (use --force to overwrite)")


def check_compress_output(output: Path) -> None:
    """``compress`` writes ``.hnr`` files: an output named like a cube is a usage error."""
    ext = Path(output).suffix.lower()
    if ext in CUBE_EXTENSIONS:
        raise UsageError(f"{output}: compress writes a .hnr file, not {ext}; name the output "
                         f"with .hnr (to write a {ext} cube from a .hnr, use hinerc decompress)")


def is_hnr(path: Path) -> bool:
    """Whether ``path`` starts with the ``.hnr`` signature (whatever its name)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(len(HNR_SIGNATURE)) == HNR_SIGNATURE
    except OSError:
        return False


def check_compress_input(src: Path, format: Optional[str]) -> None:
    """A ``.hnr`` given to ``compress`` is pointed to ``decompress``."""
    if format is None and (Path(src).suffix.lower() == ".hnr" or is_hnr(Path(src))):
        raise UsageError(f"{src} is already a .hnr file; to decode it, use hinerc decompress")


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
