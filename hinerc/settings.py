"""What an encode is asked to do, checked once: the same for the CLI, the API and a batch.

:class:`EncodeSettings` is built from the API's keywords (the CLI and a batch task pass the same
keywords); building it checks every value and raises :class:`~hinerc.errors.UsageError` (exit
2) for a malformed one, before any file is read. The codec's own options (``--epochs`` of
``hiner``) are checked against the options the codec declares (:mod:`hinerc.codecs`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from hinerc import codecs
from hinerc.devices import check_device_name
from hinerc.errors import UsageError

EFFORT_LEVELS = range(1, 10)
DEFAULT_EFFORT = 5
DEFAULT_BPPPB = 0.2
MIN_TILE = 8


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise UsageError(f"{name} must be a positive finite number, got {value}")
    return float(value)


@dataclass(frozen=True)
class EncodeSettings:
    """Every choice of an encode but the input and output.

    ``codec_options`` holds the options only the chosen codec has (``epochs``, ``lr`` and
    ``bands_per_step`` for ``hiner``); an option no codec has, or one of another codec, is a
    usage error."""

    bpppb: Optional[float] = None  # DEFAULT_BPPPB without a quality target; a ceiling with one
    effort: int = DEFAULT_EFFORT
    arch: str = codecs.DEFAULT
    seed: int = 0
    device: str = "auto"
    time_limit: Optional[float] = None
    tile: Optional[int] = None
    jobs: int = 1
    resample: bool = True
    codec_options: Mapping[str, Any] = field(default_factory=dict)
    psnr: Optional[float] = None
    min_band_psnr: Optional[float] = None
    #: near-lossless (--max-error E, stored units; 0 is --lossless): no rate target, bpppb a
    #: ceiling
    max_error: Optional[float] = None

    def __post_init__(self) -> None:
        for name, v in (("--psnr", self.psnr), ("--min-band-psnr", self.min_band_psnr)):
            if v is not None:
                _positive(name, v)
        if self.max_error is not None:
            v = self.max_error
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                    or v < 0:
                raise UsageError(f"--max-error must be a finite number ≥ 0, got {v}")
            if self.quality_target:
                raise UsageError("--max-error (or --lossless) and --psnr / --min-band-psnr "
                                 "cannot be combined: the bound fixes the quality")
            object.__setattr__(self, "max_error", float(v))
        if self.bpppb is None and not self.quality_target and self.max_error is None:
            object.__setattr__(self, "bpppb", DEFAULT_BPPPB)
        if self.bpppb is not None:
            _positive("--bpppb", self.bpppb)
        if isinstance(self.effort, bool) or self.effort not in EFFORT_LEVELS:
            raise UsageError(f"--effort must be 1..9, got {self.effort}")
        codec = codecs.get(self.arch)  # UsageError naming the choices
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise UsageError(f"--seed must be an integer, got {self.seed!r}")
        object.__setattr__(self, "device", check_device_name(self.device))
        if self.time_limit is not None:
            _positive("--time-limit", self.time_limit)
        if self.tile is not None and (isinstance(self.tile, bool) or not isinstance(self.tile, int)
                                      or self.tile < MIN_TILE):
            raise UsageError(f"--tile must be at least {MIN_TILE} pixels, got {self.tile}")
        if isinstance(self.jobs, bool) or not isinstance(self.jobs, int) or self.jobs < 1:
            raise UsageError(f"--jobs must be at least 1, got {self.jobs}")
        known = {o.name: o for o in codec.options}
        checked = {}
        for name, value in self.codec_options.items():
            if value is None:
                continue
            if name not in known:
                others = [c for c in codecs.names() if name in {o.name for o in
                                                                  codecs.get(c).options}]
                flag = "--" + name.replace("_", "-")
                if others:
                    raise UsageError(f"{flag} is an option of --arch {' or '.join(others)}; "
                                     f"the {self.arch} model has none (use --effort)")
                raise UsageError(f"unknown option {flag}")
            checked[name] = known[name].check(value)
        object.__setattr__(self, "codec_options", checked)

    @property
    def quality_target(self) -> bool:
        """True when a quality (``--psnr``, ``--min-band-psnr``) drives the rate."""
        return self.psnr is not None or self.min_band_psnr is not None

    @property
    def codec(self) -> "codecs.Codec":
        return codecs.get(self.arch)

    @property
    def tile_size(self) -> int:
        """``tile``, or the codec's default."""
        return self.tile if self.tile is not None else self.codec.default_tile

    def preset(self) -> Any:
        """The codec's preset of this effort, its options applied."""
        return self.codec.preset(self.effort, self.codec_options)
