"""The published network's configuration (the MODL record of ``arch: hiner``) and its checks.

The configuration alone fixes every stored tensor and its shape; a reader refuses one whose
numbers are not JSON integers, or whose decoder would be out of proportion to the image, so that
what it accepts is cheap to decode. Plain Python, no torch.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hinerc.errors import CorruptFileError
from hinerc.format.validate import finite, is_int

#: A decoder feature map (channels × pixels, one band) may hold at most this many values per
#: image pixel, plus :data:`FEATURE_FLOOR` (tiny images).
FEATURE_PER_PIXEL = 4096
FEATURE_FLOOR = 1 << 22


def _fail(what: str) -> None:
    raise CorruptFileError(what)


_MODEL_INTS = ("embed_channels", "embed_h", "embed_w", "head_kernel", "crop_top", "crop_left",
               "pe_levels", "mlp_hidden")
_MODEL_LISTS = ("strides", "channels", "kernels")


def check_model_types(d: dict) -> None:
    """Integers are JSON integers and lists are lists of them, before any arithmetic."""
    if not isinstance(d.get("arch"), str):
        _fail("invalid model configuration (arch)")
    for key in _MODEL_INTS:
        if key in d and not is_int(d[key]):
            _fail(f"invalid model configuration ({key} is not an integer)")
    for key in _MODEL_LISTS:
        if key in d and not (isinstance(d[key], list) and all(map(is_int, d[key]))):
            _fail(f"invalid model configuration ({key} is not a list of integers)")
    if "pe_base" in d and not finite(d["pe_base"]):
        _fail("invalid model configuration (pe_base)")


def feature_maps(embed_channels: int, embed_h: int, embed_w: int, strides: Iterable[int],
                 channels: list[int]) -> Iterable[int]:
    """Size (values, one band) of every feature map the decoder computes, in order."""
    area = embed_h * embed_w
    yield embed_channels * area
    yield channels[0] * area
    for s, c in zip(strides, channels[1:]):
        yield c * s * s * area  # conv output, before the pixel shuffle (same count after)
        area *= s * s
    yield area  # head output


def check_geometry(embed_channels: int, embed_h: int, embed_w: int, strides: list[int],
                   channels: list[int], height: int, width: int) -> None:
    """The decoder's frame and feature maps stay in proportion to the H×W image.

    No embedding row or column may lie wholly outside the image (the frame is less than one
    upsampling factor larger than H and W), and no feature map may hold more than
    :data:`FEATURE_PER_PIXEL` values per image pixel (plus :data:`FEATURE_FLOOR`).
    """
    up = math.prod(strides)
    if embed_h > -(-height // up) or embed_w > -(-width // up):
        _fail("invalid model configuration (decoder frame far larger than the image)")
    limit = FEATURE_PER_PIXEL * height * width + FEATURE_FLOOR
    if max(feature_maps(embed_channels, embed_h, embed_w, strides, channels)) > limit:
        _fail("invalid model configuration (decoder feature maps too large for the image)")


ARCHS = ("hiner",)


@dataclass
class ModelConfig:
    """Decoder architecture of the HINER family.

    Per coded band an embedding of ``embed_channels × embed_h × embed_w`` goes through a 1×1 stem
    conv (``channels[0]`` outputs, GELU), then one pixel-shuffle stage per stride ``s`` (conv
    ``k×k`` to ``channels[i+1]·s²``, PixelShuffle(s), GELU), then a ``head_kernel`` conv to one
    channel and ``0.5·tanh + 0.5``. The output frame is ``embed_h·Π s × embed_w·Π s``; the image
    is the H×W window at (``crop_top``, ``crop_left``).
    """

    arch: str
    embed_channels: int
    embed_h: int
    embed_w: int
    strides: list[int]
    channels: list[int]
    kernels: list[int]
    head_kernel: int = 3
    crop_top: int = 0
    crop_left: int = 0
    # Spectral encoder used at training time (not stored in v1 files; recorded for reference).
    pe_base: float = 1.25
    pe_levels: int = 80
    mlp_hidden: int = 320

    def __post_init__(self) -> None:
        self.strides = [int(s) for s in self.strides]
        self.channels = [int(c) for c in self.channels]
        self.kernels = [int(k) for k in self.kernels]

    @property
    def upscale(self) -> int:
        return math.prod(self.strides)

    @property
    def frame(self) -> tuple[int, int]:
        return self.embed_h * self.upscale, self.embed_w * self.upscale

    def tensor_specs(self, n_coded: int) -> list[tuple[str, tuple[int, ...]]]:
        """Name and shape of every stored tensor, in storage order (embeddings first)."""
        e, c = self.embed_channels, self.channels
        specs: list[tuple[str, tuple[int, ...]]] = [
            ("embeddings", (n_coded, e, self.embed_h, self.embed_w)),
            ("stem.weight", (c[0], e, 1, 1)),
            ("stem.bias", (c[0],)),
        ]
        for i, (s, k) in enumerate(zip(self.strides, self.kernels)):
            specs.append((f"stages.{i}.weight", (c[i + 1] * s * s, c[i], k, k)))
            specs.append((f"stages.{i}.bias", (c[i + 1] * s * s,)))
        specs.append(("head.weight", (1, c[-1], self.head_kernel, self.head_kernel)))
        specs.append(("head.bias", (1,)))
        return specs

    def stored_values(self, n_coded: int) -> int:
        """Number of quantized values in a file: embeddings plus decoder."""
        return sum(math.prod(s) for _, s in self.tensor_specs(n_coded))

    def decoder_params(self) -> int:
        return sum(math.prod(s) for n, s in self.tensor_specs(0) if n != "embeddings")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], height: int, width: int) -> "ModelConfig":
        """Build and validate a config read from a file (any inconsistency is a corrupt file).

        Every number must be a JSON integer, and the decoder's frame and feature maps must stay
        in proportion to the H×W image (:func:`check_geometry`).
        """
        check_model_types(d)
        try:
            names = {f.name for f in dataclasses.fields(cls)}
            cfg = cls(**{k: v for k, v in d.items() if k in names})
            ok = (
                cfg.arch in ARCHS
                and 1 <= cfg.embed_channels <= 1024
                and 1 <= cfg.embed_h <= 65536 and 1 <= cfg.embed_w <= 65536
                and 0 <= len(cfg.strides) <= 8
                and len(cfg.channels) == len(cfg.strides) + 1
                and len(cfg.kernels) == len(cfg.strides)
                and all(1 <= s <= 16 for s in cfg.strides)
                and all(1 <= c <= 4096 for c in cfg.channels)
                and all(k in (1, 3, 5, 7) for k in cfg.kernels)
                and cfg.head_kernel in (1, 3, 5, 7)
            )
            if ok:
                fh, fw = cfg.frame
                ok = 0 <= cfg.crop_top and cfg.crop_top + height <= fh
                ok = ok and 0 <= cfg.crop_left and cfg.crop_left + width <= fw
        except (TypeError, ValueError, OverflowError) as exc:
            raise CorruptFileError("invalid model configuration") from exc
        if not ok:
            raise CorruptFileError("invalid model configuration")
        check_geometry(cfg.embed_channels, cfg.embed_h, cfg.embed_w, cfg.strides, cfg.channels,
                       height, width)
        return cfg
