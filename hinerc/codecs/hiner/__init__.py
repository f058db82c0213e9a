"""The published HINER network (``--arch hiner``; Chen et al., ACM MM 2024), kept for
reproduction: wavelength → positional encoding → MLP → embedding → pixel-shuffle decoder.

    config.py       the decoder's architecture (the MODL record) and its checks
    geometry.py     the decoder frame for an H×W image
    sizing.py       the channel ladder filled to a budget of values
    network.py      the torch modules, and the decoder run on stored tensors
    train.py        the training loop
    payload.py      tensors ⇄ quantized symbols ⇄ Huffman streams
    sections.py     QPRM, HUFF and DATA: their bytes
    ratecontrol.py  from bytes to a model size, and the bit depths that land the rate
    presets.py      effort levels

Only encoding and decoding import torch (``network.py``, ``train.py``): ``info`` does not.
"""

from __future__ import annotations

import warnings
from typing import Any, Mapping, Optional

import numpy as np

from hinerc.codecs.base import Codec, CodecOption, EncodedModel, EncodeJob, Parsed
from hinerc.codecs.hiner import ratecontrol as rc
from hinerc.codecs.hiner.config import ModelConfig
from hinerc.codecs.hiner.presets import EFFORTS, Preset
from hinerc.codecs.hiner.sections import from_sections, to_sections
from hinerc.errors import CorruptFileError, HinercWarning, RateError
from hinerc.format.container import json_bytes
from hinerc.format.header import EncodeReport, HnrHeader
from hinerc.progress import Progress


class HinerCodec(Codec):
    name = "hiner"
    summary = "the published HINER network (Chen et al., ACM MM 2024), for reproduction"
    sections = ("QPRM", "HUFF", "DATA")
    payload_sections = ("DATA",)
    default_tile = 256
    efforts = EFFORTS
    options = (
        CodecOption("epochs", int, "training epochs (passes over all bands) [default: from "
                                   "--effort]", minimum=1),
        CodecOption("bands_per_step", int, "bands per optimizer step [default: from --effort]",
                    minimum=1),
        CodecOption("lr", float, "peak learning rate, warm-up then cosine decay [default: from "
                                 "--effort]"),
    )
    uses_device = True
    trains = True
    format_doc = """\
**MODL**:

| key | meaning |
|---|---|
| `arch` | `"hiner"` |
| `embed_channels`, `embed_h`, `embed_w` | embedding of one band: E × fh × fw |
| `strides` | pixel-shuffle factor of each upsampling stage |
| `channels` | width after the 1×1 stem, then after each stage (one more than `strides`) |
| `kernels` | conv kernel of each stage |
| `head_kernel` | kernel of the last conv (to one channel) |
| `crop_top`, `crop_left` | position of the H×W image in the decoder frame `(embed_h·Πs) × (embed_w·Πs)` |
| `pe_base`, `pe_levels`, `mlp_hidden` | the spectral encoder used in training (not stored in 1.0) |

The decoder, in float32: 1×1 conv E→`channels[0]` + GELU (exact, erf); per stage i: conv
`kernels[i]` from `channels[i]` to `channels[i+1]·s²` (zero padding (k−1)/2), PixelShuffle(s),
GELU; conv `head_kernel` to 1 channel; `0.5·tanh(x) + 0.5`; crop. Its output y (float32, in
(0, 1)) goes to BAND's offset and scale. Convolution sums may be computed in any order, so two
decoders agree to a few float32 ulps, not bit for bit.

A reader refuses a configuration whose numbers are not JSON integers (`3.0`, `true` and `"3"`
are refused), and one out of proportion to the image, so that what it accepts is cheap to
decode: no embedding row or column may lie wholly outside the image (`embed_h ≤ ⌈H/Πs⌉`,
`embed_w ≤ ⌈W/Πs⌉`), and no feature map of the decoder (channels × pixels of one band, the
stem's, each stage's and the head's) may hold more than 4096·H·W + 2²² values. Limits:
E ≤ 1024, fh, fw ≤ 65536, at most 8 stages, strides 1–16, channels 1–4096, kernels 1, 3, 5, 7.

The configuration alone fixes every stored tensor and its shape, in this storage order:

| name | shape |
|---|---|
| `embeddings` | n_coded × E × fh × fw (coded bands in band order) |
| `stem.weight`, `stem.bias` | channels[0] × E × 1 × 1, channels[0] |
| `stages.i.weight`, `stages.i.bias` | channels[i+1]·s² × channels[i] × k × k, channels[i+1]·s² |
| `head.weight`, `head.bias` | 1 × channels[-1] × head_kernel × head_kernel, 1 |

**QPRM**: quantization parameters. u16 number of tensors (must equal the table above), then per
tensor in storage order:

| size | field |
|---|---|
| 1 | `bits` (1–16) |
| 1 | `mode`: 0 one (min, scale) pair for the tensor, 1 one pair per index of axis 0 |
| 1 | `stream`: index of the DATA stream holding its symbols |
| 4·k | `mins`, float32, k = 1 or shape[0] |
| 4·k | `scales`, float32 |

Value = `min + scale · q` computed in float32, with q the integer symbol. hinerc quantizes at 8
bits; rate control may move single tensors to 5–12 bits to land the requested file size.

**HUFF**: Huffman tables. u8 number of tables, then per table: u32 byte length, then u32 `n`
(alphabet + 1), then the zlib stream of `n` u8 code lengths: symbol s ∈ [0, n−1) has code length
`lengths[s]` (0 = absent), and symbol `n−1` is the end-of-stream marker. Codes are canonical:
symbols sorted by (length, symbol) get consecutive code values, each shifted left when the
length grows. A table must be a complete prefix code (Kraft sum exactly 1) with lengths ≤ 48,
or it is refused.

**DATA**: entropy-coded symbols. u8 number of streams, then per stream:

| size | field |
|---|---|
| 1 | Huffman table index |
| 4 | symbol count (must equal the element count of the tensors assigned to this stream) |
| 4 | byte length |
| … | bits, MSB first; the last byte is completed with the leading bits of the end-of-stream code |

hinerc writes one stream per distinct bit depth, with a table over `2**bits` symbols; a
tensor's symbols are contiguous within its stream, in storage order."""

    def preset(self, effort: int, options: Mapping[str, Any]) -> Preset:
        base = self.efforts[effort]
        return Preset(options.get("epochs") or base.epochs,
                      options.get("bands_per_step") or base.bands_per_step,
                      options.get("lr") or base.lr)

    def report_epochs(self, preset: Preset) -> int:
        return preset.epochs

    # ------------------------------------------------------------------------- encode
    def encode(self, job: EncodeJob) -> EncodedModel:
        from hinerc.codecs.hiner.geometry import choose_geometry
        from hinerc.codecs.hiner.network import decode_bands
        from hinerc.codecs.hiner.payload import decode_payload, encode_payload
        from hinerc.codecs.hiner.sizing import config_for_budget, smallest_config
        from hinerc.codecs.hiner.train import TrainConfig, fit
        from hinerc.format.quant import quantize

        prep, h, w, n = job.prep, job.height, job.width, job.n_coded
        budget = job.budget
        budget_bytes, fixed = budget.file_bytes, budget.fixed_bytes
        geom = choose_geometry(h, w)
        n_tensors = len(smallest_config(geom).tensor_specs(n))  # the same for every size
        model_bytes = len(json_bytes(smallest_config(geom).to_dict())) + 8  # MODL, about
        room = rc.payload_room(budget_bytes, fixed + model_bytes, n_tensors)
        if n == 0:  # every band constant or no-data: nothing to learn, a token model
            cfg = smallest_config(geom)
            qts = [quantize(np.zeros(shape, np.float32), 8) for _, shape in cfg.tensor_specs(0)]
            return EncodedModel(cfg.to_dict(), to_sections(encode_payload(qts)),
                                np.empty((0, h, w), np.float32), cfg.stored_values(0),
                                facts={"epochs": 0})
        cfg = config_for_budget(geom, n, rc.value_budget(room))
        if cfg is None:
            smallest = smallest_config(geom)
            n_min = n * geom.embed_h * geom.embed_w + smallest.decoder_params()
            need = budget_bytes - room + n_min * rc.BITS_PER_VALUE / 8
            raise RateError(f"{budget.bpppb(budget_bytes):.4g} bpppb is below what this cube can "
                            f"reach: the side information and the smallest model need about "
                            f"{budget.bpppb(need):.4f} bpppb")
        preset: Preset = job.preset
        tc = TrainConfig(epochs=preset.epochs, lr=preset.lr, bands_per_step=preset.bands_per_step,
                         seed=job.seed, device=job.device, time_limit=job.time_limit)
        lo = budget_bytes * (1 - budget.tolerance)
        hi = budget_bytes * (1 + budget.tolerance)

        def on_epoch(s: Any) -> None:
            job.progress(Progress(s.epoch, s.epochs, "epoch",
                                  f"loss {s.loss:.4f}  PSNR {s.psnr_db:.2f} dB"))

        for attempt in range(3):
            job.stage(f"training {cfg.stored_values(n):,} values ({_describe(cfg)}) on "
                      f"{job.device}")
            result = fit(prep.target, prep.valid, prep.coords, cfg, tc, on_epoch)
            if result.restarts:
                if job.report is not None:
                    job.report.extra["divergence_restarts"] = result.restarts
                warnings.warn(f"training diverged {result.restarts} time(s); it went on from the "
                              "last good epoch at a lower learning rate", HinercWarning,
                              stacklevel=2)
            job.stage("quantizing and entropy coding")
            tensors_f = [result.embeddings] + [result.decoder[name] for name, _ in
                                               cfg.tensor_specs(n)[1:]]
            model_bytes = len(json_bytes(cfg.to_dict()))
            qts, coded = rc.fit_bits(tensors_f, budget_bytes - fixed - model_bytes)
            total = fixed + model_bytes + coded
            if lo <= total <= hi:
                break
            # Correct the value budget by the measured cost per value and train again.
            per_value = coded * 8.0 / sum(t.size for t in tensors_f)
            new_cfg = config_for_budget(geom, n, rc.value_budget(room, per_value))
            if new_cfg is None or attempt == 2:
                raise RateError(f"could not land {budget.bpppb(budget_bytes):.4g} bpppb: the "
                                f"closest file is {budget.bpppb(total):.4f} bpppb")
            cfg = new_cfg
        payload = encode_payload(qts)
        # decode exactly what will be written, as decompress will
        job.stage("decoding to measure quality")
        tensors = decode_payload(cfg.tensor_specs(n), payload)
        decoded = decode_bands(cfg, tensors, h, w, device=job.device)
        return EncodedModel(cfg.to_dict(), to_sections(payload), decoded, cfg.stored_values(n),
                            facts={"epochs": result.epochs_done})

    # ------------------------------------------------------------------------- decode
    def parse(self, model: dict[str, Any], sections: Mapping[str, bytes], header: HnrHeader
              ) -> tuple[ModelConfig, Any]:
        cfg = ModelConfig.from_dict(model, header.height, header.width)
        for tag in self.sections:
            if tag not in sections:
                raise CorruptFileError(f"missing section {tag}")
        payload = from_sections(sections["QPRM"], sections["HUFF"], sections["DATA"],
                                cfg.tensor_specs(header.n_coded))
        return cfg, payload

    def decode(self, content: Any, header: HnrHeader, device: str) -> np.ndarray:
        from hinerc.codecs.hiner.payload import decode_payload

        cfg, payload = content
        tensors = decode_payload(cfg.tensor_specs(header.n_coded), payload)
        if not header.n_coded:
            return np.empty((0, header.height, header.width), np.float32)
        from hinerc.codecs.hiner.network import decode_bands

        return decode_bands(cfg, tensors, header.height, header.width, device=device)

    def stored_values(self, content: Any, header: HnrHeader) -> int:
        return content[0].stored_values(header.n_coded)

    def describe(self, parts: list[Parsed], sizes: Mapping[str, int],
                 report: Optional[EncodeReport]) -> dict[str, Any]:
        cfg: ModelConfig = parts[0].content[0]
        first = "first tile: " if len(parts) > 1 else ""
        values = sum(self.stored_values(p.content, p.header) for p in parts)
        bits = sorted({q.bits for p in parts for q in p.content[1].quant})
        summary = (f"hiner, {values:,} stored values, {first}{_describe(cfg)}, "
                   f"{'/'.join(map(str, bits))}-bit")
        return {"summary": summary, "quant_bits": bits,
                "epochs": report.epochs if report is not None else None}


def _describe(cfg: ModelConfig) -> str:
    return (f"embedding {cfg.embed_channels}×{cfg.embed_h}×{cfg.embed_w}, "
            f"channels {'-'.join(map(str, cfg.channels))}, "
            f"strides {'·'.join(map(str, cfg.strides))}")
