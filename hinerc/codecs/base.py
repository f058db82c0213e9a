"""The codec interface: what a model of the cube must provide to be one of hinerc's ``--arch``.

A codec turns the prepared coded bands of one (untiled) cube into a model record (the MODL
section, a JSON object whose ``arch`` is the codec's name) and its own sections of bytes, within
a byte budget; and back. Everything else of a ``.hnr`` (header, metadata, band table, no-data
mask, report, tiling, rate check, quality, atomic writing) is the pipeline's
(:mod:`hinerc.pipeline`), the same for every codec::

    PreparedCube ──encode(job)──► EncodedModel(model dict, sections, decoded bands)
    model dict + sections ──parse──► Parsed ──decode──► N×H×W bands in [0, 1]

A codec is one package under :mod:`hinerc.codecs` and one line of the registry
(:data:`hinerc.codecs.REGISTRY`); the CLI's ``--arch`` choices and options, ``info``, the
reader's checks and the format documentation come from it, as CompressAI's models come from
``register_model``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping, Optional

import numpy as np

from hinerc.bands import PreparedCube
from hinerc.format.header import EncodeReport, HnrHeader
from hinerc.progress import Progress


@dataclass(frozen=True)
class CodecOption:
    """An option only one codec has (``--epochs`` of ``hiner``): the CLI makes a click option
    of it, the API a keyword, and :class:`hinerc.settings.EncodeSettings` refuses it for the
    other codecs."""

    name: str  # the API keyword, e.g. "bands_per_step" (the CLI option: --bands-per-step)
    type: type  # int, float or str
    help: str
    minimum: float = 0  # exclusive for floats, inclusive for ints
    choices: tuple[str, ...] = ()  # the values a str option takes

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def check(self, value: Any) -> Any:
        """``value`` converted and checked; a :class:`~hinerc.errors.UsageError` otherwise."""
        import math

        from hinerc.errors import UsageError

        if self.type is str:
            if value not in self.choices:
                raise UsageError(f"{self.flag} must be one of {', '.join(self.choices)}, "
                                 f"got {value!r}")
            return str(value)
        if self.type is int:
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                    or value < self.minimum:
                raise UsageError(f"{self.flag} must be an integer ≥ {self.minimum:g}, got {value}")
            return int(value)
        if not (isinstance(value, (int, float, np.floating)) and not isinstance(value, bool)
                and math.isfinite(value) and value > self.minimum):
            raise UsageError(f"{self.flag} must be a finite number > {self.minimum:g}, got {value}")
        return float(value)


@dataclass(frozen=True)
class Budget:
    """The bytes one plain (untiled) file may have, and those the pipeline already spends.

    ``file_bytes`` is the target (for a tile, its share of the scene's); ``fixed_bytes`` every
    byte of the file that is not the codec's: the preamble, the header, metadata, band table,
    mask and report sections, and the 12-byte framing of every section, the codec's included.
    ``room`` is what is left for the MODL payload and the codec's own section payloads. The
    whole file must land within ``tolerance`` of ``file_bytes``."""

    file_bytes: float
    fixed_bytes: int
    samples: int
    tolerance: float

    @property
    def room(self) -> float:
        return self.file_bytes - self.fixed_bytes

    def bpppb(self, nbytes: float) -> float:
        """``nbytes`` of this file as bits per sample, for messages."""
        return nbytes * 8 / self.samples


@dataclass
class EncodeJob:
    """What a codec gets to encode one plain cube."""

    prep: PreparedCube
    height: int
    width: int
    budget: Budget
    preset: Any  # the codec's own preset for the effort asked, options applied
    seed: int
    #: resolved ("cpu", "cuda" or "cuda:N") for a codec that :attr:`Codec.uses_device`; for
    #: another, as asked (``auto`` too): it runs on the CPU but may train a part there
    #: (:func:`hinerc.devices.resolve_device`, then ``EncodedModel.facts["device"]``)
    device: str
    time_limit: Optional[float]
    progress: Callable[[Progress], None]
    stage: Callable[[str], None]
    #: the encode report of a plain file, where a codec records its own facts
    #: (``report.extra``); ``None`` for a tile
    report: Optional[EncodeReport] = None

    @property
    def n_coded(self) -> int:
        return int(self.prep.coords.size)


@dataclass
class EncodedModel:
    """A codec's encode of one plain cube: what goes in the file, and what it decodes to."""

    model: dict[str, Any]  # the MODL record; its "arch" is the codec's name
    sections: dict[str, bytes]  # the codec's sections, every one of Codec.sections
    decoded: np.ndarray  # N×H×W float32 in [0, 1]: exactly what decode() gives from the bytes
    values: int  # numbers stored in the model (for info)
    #: the model is at its finest precision below the budget: more bytes would buy nothing,
    #: so the file may land short of the target (it is never larger)
    saturated: bool = False
    facts: dict[str, Any] = field(default_factory=dict)  # e.g. {"epochs": 100}


@dataclass
class Parsed:
    """A codec's sections of one plain file, read and cross-checked (nothing decoded yet)."""

    header: HnrHeader  # of this plain file (a tile's own)
    model: dict[str, Any]
    sections: dict[str, bytes]
    content: Any  # what the codec's parse() made of them


class Codec(ABC):
    """One model of the cube. Subclasses set the class attributes and the four methods."""

    #: the ``--arch`` name, stored in MODL's ``arch``
    name: ClassVar[str]
    #: one line for ``--help``
    summary: ClassVar[str]
    #: the codec's sections, in file order (between MODL and MASK)
    sections: ClassVar[tuple[str, ...]]
    #: sections a file may carry or not (after :attr:`sections`, in this order); the codec
    #: counts their framing in its own budget
    optional_sections: ClassVar[tuple[str, ...]] = ()
    #: the sections holding the coded numbers (``info``'s payload bytes)
    payload_sections: ClassVar[tuple[str, ...]]
    #: scenes with more rows or columns are cut into tiles of at most this size
    default_tile: ClassVar[int]
    #: effort level 1..9 → the codec's own preset
    efforts: ClassVar[Mapping[int, Any]]
    #: options only this codec has
    options: ClassVar[tuple[CodecOption, ...]] = ()
    #: whether it runs where ``--device`` says (a network); otherwise on the CPU
    uses_device: ClassVar[bool] = False
    #: whether ``EncodeReport.epochs`` means something for it
    trains: ClassVar[bool] = False
    #: its part of ``docs/format.md``: the MODL keys and every section, in Markdown
    format_doc: ClassVar[str] = ""

    def documentation(self) -> str:
        """Its part of ``docs/format.md`` (:attr:`format_doc`, and what it is made of)."""
        return self.format_doc

    def preset(self, effort: int, options: Mapping[str, Any]) -> Any:
        """The preset of ``effort`` with this codec's ``options`` applied (already checked)."""
        return self.efforts[effort]

    def report_epochs(self, preset: Any) -> int:
        """The epochs to record in the report before training (full-length placeholder)."""
        return 0

    @abstractmethod
    def encode(self, job: EncodeJob) -> EncodedModel:
        """Fit the model of ``job.prep`` into ``job.budget``; raise RateError if it cannot."""

    @abstractmethod
    def parse(self, model: dict[str, Any], sections: Mapping[str, bytes], header: HnrHeader
              ) -> Any:
        """Check a MODL record and the codec's sections of a plain file against its header;
        any inconsistency is a :class:`~hinerc.errors.CorruptFileError`. Returns what
        :meth:`decode` takes. Nothing heavy: ``info`` runs it."""

    @abstractmethod
    def decode(self, content: Any, header: HnrHeader, device: str) -> np.ndarray:
        """The N×H×W float32 coded bands in [0, 1] of a parsed plain file: an array, or an
        object with ``shape`` whose ``block(r0, r1, c0, c1)`` gives the N×rows×columns of a
        window (a codec that decodes where asked; :func:`hinerc.bands.restore` takes both)."""

    def decode_some(self, content: Any, header: HnrHeader, device: str,
                    coded: np.ndarray) -> np.ndarray:
        """Only the coded bands ``coded`` (positions among the N coded bands, increasing):
        len(coded)×H×W. By default the whole :meth:`decode`, then those rows; a codec that
        can produce a band without the others overrides it (``decompress --bands``)."""
        return np.asarray(self.decode(content, header, device))[coded]

    def stored_values(self, content: Any, header: HnrHeader) -> int:
        """Numbers the model stores (``info``'s model values)."""
        return 0

    @abstractmethod
    def describe(self, parts: list[Parsed], sizes: Mapping[str, int],
                 report: Optional[EncodeReport]) -> dict[str, Any]:
        """For ``info``: a one-line ``summary`` of the model (``parts`` are the plain files,
        one per tile; ``sizes`` the bytes of each of the codec's sections over all of them,
        framing included) and any facts of this codec only (they become ``info --json`` keys).
        """
