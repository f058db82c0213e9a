"""The codecs hinerc can write, by name: the one place that knows which exist.

Each codec is a package here with a :class:`~hinerc.codecs.base.Codec` subclass; the
:data:`REGISTRY` line below names it. ``--arch`` choices, its options, ``info``, the reader's
checks and the format documentation's codec table come from here. A codec is imported only
when it is used (``hiner`` imports torch), so ``info`` on a low-rank file never imports torch.

    codec = get("lowrank")          # an instance
    names()                         # ("lowrank", "hiner"), the default first

Tests and plug-ins may :func:`register` another codec class at run time.
"""

from __future__ import annotations

import importlib
from typing import Union

from hinerc.codecs.base import Codec, CodecOption
from hinerc.errors import CorruptFileError, UsageError

#: name → "module:Class" (imported on first use). The first is the default.
REGISTRY: dict[str, Union[str, type[Codec]]] = {
    "lowrank": "hinerc.codecs.lowrank:LowRankCodec",
    "hiner": "hinerc.codecs.hiner:HinerCodec",
}
DEFAULT = next(iter(REGISTRY))
_LOADED: dict[str, Codec] = {}

__all__ = ["Codec", "CodecOption", "REGISTRY", "DEFAULT", "register", "unregister", "names",
           "get", "for_file", "options"]


def register(cls: type[Codec]) -> type[Codec]:
    """Add a codec class (usable as a decorator); its ``name`` must be new."""
    if cls.name in REGISTRY:
        raise ValueError(f"a codec named {cls.name!r} is already registered")
    REGISTRY[cls.name] = cls
    return cls


def unregister(name: str) -> None:
    """Remove a codec added by :func:`register` (tests)."""
    REGISTRY.pop(name, None)
    _LOADED.pop(name, None)


def names() -> tuple[str, ...]:
    return tuple(REGISTRY)


def _load(name: str) -> Codec:
    if name not in _LOADED:
        entry = REGISTRY[name]
        if isinstance(entry, str):
            module, _, attr = entry.partition(":")
            entry = getattr(importlib.import_module(module), attr)
        _LOADED[name] = entry()
    return _LOADED[name]


def get(name: str) -> Codec:
    """The codec called ``name``; a :class:`UsageError` naming the choices otherwise."""
    if name not in REGISTRY:
        raise UsageError(f"--arch must be one of {', '.join(REGISTRY)}, got {name!r}")
    return _load(name)


def for_file(name: object) -> Codec:
    """The codec a file's MODL names; a :class:`CorruptFileError` for one this build lacks."""
    if not isinstance(name, str) or name not in REGISTRY:
        raise CorruptFileError(f"the file's model {name!r} is not one this hinerc knows "
                               f"({', '.join(REGISTRY)})")
    return _load(name)


def options() -> dict[str, tuple[CodecOption, list[str]]]:
    """Every codec-specific option: name → (the option, the codecs that have it)."""
    out: dict[str, tuple[CodecOption, list[str]]] = {}
    for name in REGISTRY:
        for opt in _load(name).options:
            out.setdefault(opt.name, (opt, []))[1].append(name)
    return out
