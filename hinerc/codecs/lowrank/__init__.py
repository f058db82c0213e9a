"""The low-rank codec (``--arch lowrank``, the default): k shared maps mixed per band.

    model.py       the KLT maps, the embeddings fitted to the decoded maps, the rank search
    mapfilter.py   the map filter: a small convolutional network on the decoded maps
    pixelnet.py    the pixel network: a small non-linear decoder after the mix (large files)
    sections.py    MODL, SPEC, MAPS, MFLT and PNET: what a file stores
    presets.py     effort levels
    mapcoders/     how the maps become bytes (JPEG 2000, ...), one interface

Decoding is numpy and the map coder's library only; torch only trains a map filter or a
pixel network.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from typing import Any, Callable, Mapping, Optional

import numpy as np

from hinerc.codecs.base import Codec, CodecOption, EncodedModel, EncodeJob, Parsed
from hinerc.codecs.lowrank import mapcoders, mapfilter, pixelnet
from hinerc.codecs.lowrank import presets
from hinerc.codecs.lowrank.presets import EFFORTS, Preset
from hinerc.codecs.lowrank.sections import (LowRankCode, LowRankConfig, pack_embeddings,
                                            unpack_embeddings)
from hinerc.devices import resolve_device
from hinerc.errors import CorruptFileError, HinercWarning, RateError
from hinerc.format.container import json_bytes
from hinerc.format.header import EncodeReport, HnrHeader
from hinerc.io import mapped
from hinerc.progress import Progress

#: The MODL payload is sized for the largest rank before the search (the rank is not known).
_SIZING_RANK = 255
#: The share of the progress bar given to training a pixel network (about its share of the
#: time on the 1000² scene: 6–10 s of 48).
NET_SHARE = 0.2


class LowRankCodec(Codec):
    name = "lowrank"
    summary = ("band embeddings mixing a few feature maps (the cube's principal components), "
               "the maps coded by a map coder (JPEG 2000, HEVC or AV1)")
    sections = ("SPEC", "MAPS")
    optional_sections = ("MFLT", "PNET")
    payload_sections = ("SPEC", "MAPS", "MFLT", "PNET")
    default_tile = 1024  # one basis for more pixels is better; a 1000² scene is one tile
    efforts = EFFORTS
    options = (
        CodecOption("map_coder", str, "how the feature maps are coded: hevc (12-bit HEVC intra, "
                    "the ffmpeg of imageio-ffmpeg), av1 (12-bit AV1 intra, the same ffmpeg), "
                    "av1-444 (three maps a 12-bit 4:4:4 AV1 picture) or jpeg2000 (OpenJPEG) "
                    "[default: from --effort: 1-4 jpeg2000, 5-9 code with hevc and with av1 "
                    "(8-9: and av1-444) and keep the better file]",
                    choices=tuple(mapcoders.MAP_CODERS)),
        CodecOption("pixel_net", str, "a small network after the linear mix, trained on the "
                    "cube (PNET): auto trains one at efforts 5-9 where the file is large enough "
                    "to carry it (about 1% of it) and keeps it where it measured a gain; off "
                    "never [default: auto]", choices=("auto", "off")),
        CodecOption("map_filter", str, "a small convolutional network on the decoded maps, "
                    "trained on the cube (MFLT): auto trains one at efforts 7-9 on tiles of at "
                    "most 1024x1024 pixels, its bytes taken from the maps (the cube coded again, "
                    "or on a scene kept from the start), and keeps the better file; off never "
                    "[default: auto]",
                    choices=("auto", "off")),
        CodecOption("band_weights", str, "how the bands weigh in the KLT that makes the maps: "
                    "error weighs each band by the inverse of its error in quick codes made first "
                    "(efforts 3-9), which serves the band-mean PSNR (a band of small error "
                    "counts more); units keeps the original units, which serves the cube's "
                    "overall squared error [default: error]", choices=("error", "units")),
    )
    format_doc = """\
**MODL**: `{"arch": "lowrank", "rank": k, "maps": NAME, "mflt": true, "pnet": true}`, k a JSON
integer, 0 ≤ k ≤ min(255, n_coded, H·W); `maps` names the map coder of MAPS (below) and is left
out for `"jpeg2000"` (which is also what every file of 1.1 and 1.2 holds); `mflt` (1.6, a JSON
`true`, only with k ≥ 1) says that an MFLT section follows MAPS, and `pnet` (1.5, likewise) that
a PNET section follows MAPS (and MFLT); each is left out otherwise (a section without its key,
or a key without its section, is a corrupt file). Without MFLT and PNET the N = n_coded coded
bands are

    y_b(x, y) = float32( clip( Σ_{j<k} E[j, b] · m_j(x, y) + E[k, b], 0, 1 ) )

computed in float64 and rounded to float32 (round to nearest even) before BAND's offset and
scale are applied (in float64), with k feature maps `m_j = (d_j − c_j) / 32767.5`, `d_j` the
j-th decoded map of MAPS in code units (float64) and `c_j` its centre (SPEC), and the (k+1)×N
embedding matrix `E[j, b] = float64(step_j) · W[j, b]` from SPEC. For k = 0, `y_b = E[0, b]`.
The encoder takes the maps from a KLT over the bands (at efforts 3–9 each band weighed by the
inverse of its error in quick codes made first: what the band-mean PSNR rewards) and fits E to
the decoded maps by least squares; a decoder needs none of that.

**SPEC**: low-rank embeddings.

| size | field |
|---|---|
| 1 | `w`: byte width of the integers below, 1, 2 or 4; 0: range-coded (1.7); 3: range-coded with adaptive scales (1.10) |
| 2·k | map centres `c_j` (u16) |
| 4·(k+1) | dequantization steps `step_j` (float32, finite, ≥ 0); row k is the band offset |
| rest | `w` = 1, 2, 4: one raw LZMA2 stream (xz filter `LZMA2`, preset 9, dictionary 1 MiB, no container); `w` = 0: (k+1)·N (u32), k+1 scale codes `s_j` (u8), then the range coder's words (u32); `w` = 3: (k+1)·N (u32), k+1 bytes `16·p_j + g_j` (order `p_j` ≤ 2, gain `g_j`), k+1 scale codes `s_j` (u8), then the range coder's words (u32) |

The (k+1)×N integer matrix W is stored row by row, each row as its differences along the bands
(`D[j, 0] = W[j, 0]`, `D[j, b] = W[j, b] − W[j, b−1]`). With `w` > 0 the stream inflates to
exactly (k+1)·N·`w` bytes: D in little-endian signed `w`-byte integers. With `w` = 0 (format
1.7: a file whose SPEC has it is written as 1.7, a tiled file when any tile's does) D is one
stream of `constriction`'s queue range coder (`constriction.stream.queue.RangeDecoder` over the
words), (k+1)·N symbols in row order, each of `QuantizedLaplace(−16384, 16384)` with mean 0 and
scale `2 ** ((s_j − 32) / 8)` (float64) of its row; every |D| < 16384, and the decoder has
read every word when the last symbol is decoded (a stream of other symbols is corrupt). The encoder writes
whichever of the three is smallest (the range coder: 17–24% smaller than LZMA2 on the
benchmark cubes; adaptive scales another 6–12% at 1.0 bpppb). With `w` = 3 (format 1.10) row j
is stored as its residuals R of a prediction along the bands at order `p_j`: `p_j` = 0: `R = W`;
1: `R[j, 0] = W[j, 0]`, `R[j, b] = W[j, b] − W[j, b−1]`; 2: as 1 for b < 2, then
`R[j, b] = W[j, b] − 2·W[j, b−1] + W[j, b−2]`. R is one stream of the same range coder,
(k+1)·N symbols in band order (R[0, 0], R[1, 0], …, R[k, 0], R[0, 1], …), each of
`QuantizedLaplace(−16384, 16384)` with mean 0 and scale (float64)
`2 ** ((s_j − 32) / 8) + (g_j / 16) · (|R[j, b−1]| + |R[j, b−2]|)`, a term whose band is before
0 being 0 (the sum is exact; the only rounding is the one addition). Every |R| < 16384; a stream
with words left over is corrupt, as is an order above 2. An
embedding row is a smooth spectrum, so the differences are small. The encoder chooses `step_j`
inversely proportional to the energy of map j (every row's quantization error then costs about
the same in the cube).

**MAPS**: the k maps of H × W, coded by the map coder MODL names; empty when k = 0.

**MFLT** (1.6; only when MODL has `mflt`): the map filter, a correction of the decoded maps
before the mix (and before PNET, which takes the filtered maps). With `u_i = m_i` over the whole
H × W map, its edges replicated (`u_i(y, x)` at a row or column outside the map takes the
nearest one inside),

    h_t(y, x) = gelu( clip( s1_t · Σ_{i<k} Σ_{a,b<3} W1[t, i, a, b] · u_i(y+a−1, x+b−1) + b1_t, −10⁴, 10⁴ ) )
    r_j(y, x) = clip( s2_j · Σ_{t<C} W2[j, t] · h_t(y, x) + b2_j, −10⁴, 10⁴ )
    d'_j = d_j + 32767.5 · r_j

in float64 (the sums in any order), and the mix (and PNET) then takes `m_j = (d'_j − c_j) /
32767.5` in place of `m_j`. Two decoders may differ in the last bits of a sample (a file with
MFLT never carries RESD).

| size | field |
|---|---|
| 1 | version, `1` |
| 1 | activation, `1` (the tanh GELU of PNET, below) |
| 1 | k: the maps filtered, equal to MODL's rank |
| 1 | C: hidden channels, 1 ≤ C ≤ 32 |
| 4·(2C + 2k) | float32: s1 (C), b1 (C), s2 (k), b2 (k); all finite |
| 9·C·k | W1, C×k×3×3 in C order (a: row offset, b: column offset), signed int8 |
| k·C | W2, k×C row by row, signed int8 (the section ends here) |

The encoder trains the filter (a 3×3 convolution, one hidden layer, a 1×1 convolution, Adam on
the per-band normalised squared error of the mix, each band weighed by the inverse of its error
before filtering), stores each output channel's weights as int8 with its own scale, refits the
embeddings (SPEC) to the filtered maps, and keeps the filter only where the file with it, its
bytes taken from the maps, measured better than the file without it.

**PNET** (1.5; only when MODL has `pnet`): the pixel network, a correction added to the mix
before the clip:

    y_b(x, y) = float32( clip( Σ_{j<k} E[j, b] · m_j(x, y) + E[k, b] + r_b(x, y), 0, 1 ) )
    u_i = float32(m_i(x, y)) / σ_i                       i < K
    h_t = gelu( clip( s1_t · Σ_i W1[t, i] · u_i + b1_t, −10⁴, 10⁴ ) )     t < H
    r_b = s2_b · Σ_t W2[b, t] · h_t + b2_b

in float64 arithmetic (the sums in any order), `gelu(x) = 0.5·x·(1 + tanh(0.7978845608·(x +
0.044715·x³)))`, `m_i` rounded to float32 first (the encoder trains on those); `r_b` is added
to the float64 mix. Two decoders may differ in the last bits of a sample (a file with PNET never
carries RESD: the residual needs a predictor computed to the bit).

| size | field |
|---|---|
| 1 | version, `1` |
| 1 | activation, `1` (the GELU above) |
| 1 | K: the maps taken, 1 ≤ K ≤ min(k, 32) |
| 2 | H: hidden width (u16), 1 ≤ H ≤ 128 |
| 4·(K + 2H + 2N) | float32: σ (K, each > 0), s1 (H), b1 (H), s2 (N), b2 (N); all finite |
| H·K | W1, row by row, signed int8 |
| N·H | W2, row by row, signed int8 (the section ends here) |

The encoder trains the network (one hidden layer, Adam on the squared error of the normalised
bands, on a sample of the pixels), stores each weight row as int8 with its own scale, and keeps
the network only where it measured a gain on pixels it did not train on."""

    def documentation(self) -> str:
        parts = [self.format_doc, "", "The map coders (MODL `maps`):"]
        for name in mapcoders.names():
            coder = mapcoders.get(name)
            doc = coder.format_doc.strip().replace("\n", "\n  ")
            parts += ["", f"* `{name}`: " + "\n".join(ln.rstrip() for ln in doc.split("\n"))]
        return "\n".join(parts)

    def preset(self, effort: int, options: Mapping[str, Any]) -> Preset:
        base = self.efforts[effort]
        if options.get("map_coder"):
            base = dataclasses.replace(base, maps=options["map_coder"], also=())
        if options.get("pixel_net") == "off":
            base = dataclasses.replace(base, pixel_iters=0)
        if options.get("map_filter") == "off":
            base = dataclasses.replace(base, filter_iters=0)
        if options.get("band_weights") == "units":
            base = dataclasses.replace(base, klt_passes=0)
        return base

    # ------------------------------------------------------------------------- encode
    def encode(self, job: EncodeJob) -> EncodedModel:
        from hinerc.codecs.lowrank import model

        preset: Preset = job.preset
        prep, h, w, n = job.prep, job.height, job.width, job.n_coded
        t0 = time.perf_counter()
        coder = preset.coder(preset.maps)
        saturated = False
        # bytes kept for a pixel network, sized to the budget before the maps take theirs
        inputs = min(pixelnet.MAX_INPUTS, n, h * w)
        hidden = (pixelnet.hidden_for(job.budget.room, inputs, n)
                  if preset.pixel_iters and n and pixelnet.enough_pixels(prep.valid, h * w)
                  else 0)
        reserve = pixelnet.payload_bytes(inputs, hidden, n) + 12 if hidden else 0
        # a map filter's bytes, kept out of the maps' from the start where they are a sliver
        # of the file (a scene: the cube is coded once); elsewhere it codes the cube again
        filtering = bool(preset.filter_iters and n
                         and mapfilter.MIN_PIXELS <= h * w <= mapfilter.MAX_PIXELS)
        rate = job.budget.bpppb(job.budget.file_bytes)
        up_front = (mapfilter.up_front(job.budget.room - reserve, model.offered_rank(n, h, w, rate),
                                       job.budget.tolerance) if filtering else 0)

        def room_for(coder: mapcoders.MapCoder) -> float:
            sizing = LowRankConfig(rank=_SIZING_RANK, maps=coder.name, pnet=bool(hidden),
                                   mflt=bool(preset.filter_iters))
            return job.budget.room - len(json_bytes(sizing.to_dict())) - reserve - up_front

        net, facts = None, {}
        if n == 0:
            code = model.constant_code(prep.target)
        else:
            room = room_for(coder)

            def on_trial(t: Any) -> None:
                job.progress(Progress(0, 0, note=f"rank {t.rank}: {t.psnr_db:.2f} dB "
                                      f"({t.size:,} bytes of maps and embeddings)"))

            def on_progress(s: Any) -> None:
                info = f"best {s.best_psnr_db:.2f} dB" if s.best_psnr_db is not None else ""
                # the search's share of one bar that the pixel network's training ends
                done = s.done * (1 - NET_SHARE) if hidden else s.done
                job.progress(Progress(done, s.total, f"rank {s.rank}" if s.rank
                                      else "rank search", info))

            scales = prep.table.scales[prep.table.coded]
            # the bands weighed for the KLT by the errors of quick codes (none where even
            # those do not fit: the search then says why)
            weights, quick_db = None, -np.inf
            if preset.klt_passes and n > 1:
                weights, quick_db = _klt_weights(prep, scales, room_for, preset.klt_passes)

            def search(coder: mapcoders.MapCoder, room: float) -> Any:
                return model.encode(prep, prep.valid, scales, int(room), preset.search, coder,
                                    job.time_limit, on_trial, on_progress, klt_weights=weights)

            try:
                try:
                    best = search(coder, room)
                except mapcoders.MapCoderUnavailable as exc:
                    if coder.name == mapcoders.FALLBACK:
                        raise
                    warnings.warn(f"{exc}; the maps are coded with "
                                  f"{_coder_title(mapcoders.FALLBACK)} instead", HinercWarning)
                    coder = mapcoders.get(mapcoders.FALLBACK)()
                    best = search(coder, room_for(coder))
            except RateError:
                need = job.budget.fixed_bytes + model.min_bytes(n)
                raise RateError(f"{job.budget.bpppb(job.budget.file_bytes):.4g} bpppb is below "
                                f"what this cube can reach: the side information and the "
                                f"smallest model need about {job.budget.bpppb(need):.4f} bpppb"
                                ) from None
            if weights is not None and best.psnr_db < quick_db:
                # the weighed search did worse than the first quick code (it chose a poor
                # rank: measured on a 40² crop at 0.1 bpppb): the original units too, the
                # better kept, and its weights for what follows
                kept, weights = weights, None
                plain = search(coder, room_for(coder))
                if plain.psnr_db >= best.psnr_db:
                    best = plain
                else:
                    weights = kept
            # the better of the coders, as measured (none after a fallback: the same ffmpeg)
            tries = (preset.also if coder.name == preset.maps and n <= presets.ALSO_MAX_BANDS
                     and rate <= presets.ALSO_MAX_BPPPB else ())
            for name in tries:
                limit = mapcoders.get(name).also_max_pixels
                if limit is not None and h * w > limit:
                    continue
                other = preset.coder(name)
                try:
                    alt = search(other, room_for(other))
                except mapcoders.MapCoderUnavailable as exc:
                    warnings.warn(f"{exc}; the maps are coded with {_coder_title(coder.name)} "
                                  "only", HinercWarning)
                    continue
                if alt.psnr_db > best.psnr_db:
                    best, coder = alt, other
            # a map filter codes the cube again and trains: about as long as the search took,
            # so not past half of a --time-limit
            in_time = job.time_limit is None or time.perf_counter() - t0 < job.time_limit / 2
            if filtering and best.rank and in_time:
                best = _with_map_filter(job, lambda room: search(coder, room), coder,
                                        room_for(coder) + up_front, best, preset.filter_iters,
                                        facts, up_front)
            code = best.code
            saturated = best.finest and best.size < (1 - job.budget.tolerance) * room
            if job.report is not None:
                job.report.extra["rank"] = code.rank
            if hidden and code.rank:
                # as wide as the bytes kept allow, now that the rank (the inputs) is known
                k_in = min(code.rank, pixelnet.MAX_INPUTS)
                wide = pixelnet.widest(reserve - 12, k_in, n)
                net, facts["device"] = _train_pixel_net(job, code, coder, wide,
                                                        preset.pixel_iters)
        cfg = LowRankConfig(rank=code.rank, maps=coder.name, pnet=net is not None,
                            mflt=code.filt is not None)
        spec = pack_embeddings(code.centres, code.steps, code.weights)
        sections = {"SPEC": spec, "MAPS": code.maps}
        if code.filt is not None:
            sections["MFLT"] = mapfilter.pack(code.filt)
        if net is not None:
            sections["PNET"] = pixelnet.pack(net)
        # decode exactly what will be written, as decompress will
        job.stage("decoding to measure quality")
        decoded = self.decode(self.parse(cfg.to_dict(), sections, _header(h, w, n)),
                              _header(h, w, n), "cpu")
        return EncodedModel(cfg.to_dict(), sections, decoded, cfg.stored_values(n),
                            saturated=saturated, facts=facts)

    # ------------------------------------------------------------------------- decode
    def parse(self, model: dict[str, Any], sections: Mapping[str, bytes], header: HnrHeader
              ) -> tuple[LowRankConfig, LowRankCode, mapcoders.MapCoder]:
        cfg = LowRankConfig.from_dict(model, header.n_coded, header.height, header.width)
        for tag in self.sections:
            if tag not in sections:
                raise CorruptFileError(f"missing section {tag}")
        coder = mapcoders.get(cfg.maps)()
        centres, steps, weights = unpack_embeddings(sections["SPEC"], cfg.rank, header.n_coded)
        maps = sections["MAPS"]
        if cfg.rank == 0:
            if maps:
                raise CorruptFileError("MAPS section holds data for a rank-0 model")
        else:
            coder.check(maps, header.height, header.width, cfg.rank)
        filt = None
        if cfg.mflt:
            if "MFLT" not in sections:
                raise CorruptFileError("missing section MFLT")
            filt = mapfilter.unpack(sections["MFLT"], cfg.rank)
        elif "MFLT" in sections:
            raise CorruptFileError("an MFLT section the model does not declare")
        net = None
        if cfg.pnet:
            if "PNET" not in sections:
                raise CorruptFileError("missing section PNET")
            net = pixelnet.unpack(sections["PNET"], cfg.rank, header.n_coded)
        elif "PNET" in sections:
            raise CorruptFileError("a PNET section the model does not declare")
        return cfg, LowRankCode(cfg.rank, centres, steps, weights, maps, net, filt), coder

    def decode(self, content: Any, header: HnrHeader, device: str) -> Any:
        """The coded bands, mixed from the maps only where they are restored (a window of a
        scene mixes only that window: :class:`~hinerc.codecs.lowrank.model.Mixed`)."""
        from hinerc.codecs.lowrank.model import mixed

        _, code, coder = content
        return mixed(code, coder, header.height, header.width)

    def decode_some(self, content: Any, header: HnrHeader, device: str,
                    coded: np.ndarray) -> Any:
        from hinerc.codecs.lowrank.model import mixed

        _, code, coder = content
        return mixed(code, coder, header.height, header.width, coded)

    def stored_values(self, content: Any, header: HnrHeader) -> int:
        return content[0].stored_values(header.n_coded)

    def describe(self, parts: list[Parsed], sizes: Mapping[str, int],
                 report: Optional[EncodeReport]) -> dict[str, Any]:
        cfg, _, coder = parts[0].content
        tiles = len(parts)
        first = "first tile: " if tiles > 1 else ""
        over = f" in {tiles} tiles" if tiles > 1 else ""
        values = sum(self.stored_values(p.content, p.header) for p in parts)
        summary = (f"lowrank, {first}{cfg.rank} feature maps ({_coder_title(coder.name)}, "
                   f"{sizes.get('MAPS', 0):,} bytes{over}) mixed by per-band embeddings "
                   f"({values:,} values, {sizes.get('SPEC', 0):,} bytes{over})")
        filts = [p.content[1].filt for p in parts if p.content[1].filt is not None]
        if filts:
            where = f" in {len(filts)} tiles" if tiles > 1 else ""
            summary += (f", filtered by a map filter ({filts[0].maps} maps → 3×3, "
                        f"{filts[0].width} channels → maps, {sizes.get('MFLT', 0):,} "
                        f"bytes{where})")
        nets = [p.content[1].net for p in parts if p.content[1].net is not None]
        if nets:
            hidden = nets[0].w1.shape[0]
            where = f" in {len(nets)} tiles" if tiles > 1 else ""
            summary += (f", then a pixel network ({nets[0].inputs} maps → {hidden} → bands, "
                        f"{sizes.get('PNET', 0):,} bytes{where})")
        return {"summary": summary, "rank": cfg.rank, "map_coder": coder.name,
                "map_filter": bool(filts), "pixel_net": bool(nets)}


def _train_pixel_net(job: EncodeJob, code: LowRankCode, coder: mapcoders.MapCoder, hidden: int,
                     iters: int) -> "tuple[Optional[pixelnet.PixelNet], str]":
    """A pixel network for ``code``'s decoded maps, trained on a sample of the cube's pixels
    where ``--device`` says (CUDA when there is one for ``auto``), and that device; the network
    is ``None`` where it gains less than :data:`pixelnet.MIN_GAIN_DB` on the pixels held out.
    Where it trained changes only its weights: decoding is numpy, on the CPU."""
    from hinerc.codecs.lowrank.model import mixed

    device = resolve_device(job.device)

    prep, h, w = job.prep, job.height, job.width
    job.stage("training the pixel network")
    sel = pixelnet.sample(h, w, prep.valid, job.seed)
    mix = mixed(code, coder, h, w)  # the maps as the file decodes them, converted where asked
    maps = mix.maps_at(sel).astype(np.float32)
    emb = mix.emb
    # what the mix misses, pixel-major, read a few thousand pixels at a time (a mapped scene's
    # pages go back at each read): the bands are never held in float64 nor twice
    miss = np.empty((sel.size, job.n_coded), np.float32)
    for a in range(0, sel.size, 8192):
        b = min(sel.size, a + 8192)
        miss[a:b] = (prep.pixels(sel[a:b]) - emb[:-1].T @ maps[:, a:b] - emb[-1][:, None]).T
    mapped.release(prep.source)
    held = pixelnet.held_out(sel.size)
    linear_held = emb[:-1].T @ maps[:, held] + emb[-1][:, None]

    def tick(done: int, total: int) -> None:
        job.progress(Progress(1 - NET_SHARE + NET_SHARE * done / total, 1.0, "pixel network"))

    net, gain = pixelnet.train(maps, miss, linear_held, hidden, iters, job.seed, device, tick)
    if job.report is not None:
        job.report.extra["pixel_net_gain_db"] = round(gain, 3)
    return (net if gain >= pixelnet.MIN_GAIN_DB else None), device


def _klt_weights(prep: Any, scales: np.ndarray, room_for: Callable[[mapcoders.MapCoder], float],
                 passes: int) -> tuple[Optional[np.ndarray], float]:
    """The bands' KLT weights (:func:`model.klt_weights`) after ``passes`` quick codes
    (:data:`presets.WEIGHING`), each weighed by the last one's errors (``None`` where the
    first does not fit the rate or its coder is missing), and the first code's band-mean PSNR
    (normalised units; −inf without one). On a tile of more than
    :data:`presets.WEIGHING_SIDE`² pixels the quick codes code its centre window of at most
    that side, at the same rate: the weights are a spectral matter, and a scene's time goes to
    the search itself; the PSNR returned is then −inf (a window's is not the tile's)."""
    from hinerc.codecs.lowrank import model

    n, h, w = prep.shape
    side = presets.WEIGHING_SIDE
    share = 1.0
    if h > side or w > side:
        wh, ww = min(h, side), min(w, side)
        r0, c0 = (h - wh) // 2, (w - ww) // 2
        rows, cols = slice(r0, r0 + wh), slice(c0, c0 + ww)
        prep = dataclasses.replace(
            prep, source=prep.source[rows, cols], nodata_mask=prep.nodata_mask[rows, cols],
            valid=None if prep.valid is None else prep.valid[:, rows, cols],
            _target=None, _mapped=None)
        share = wh * ww / (h * w)
    weights, first = None, -np.inf
    coder = presets.WEIGHING.coder(presets.WEIGHING.maps)
    for i in range(passes):
        try:
            trial = model.encode(prep, prep.valid, scales, int(room_for(coder) * share),
                                 presets.WEIGHING.search, coder, klt_weights=weights)
        except (RateError, mapcoders.MapCoderUnavailable):
            break
        if i == 0 and share == 1.0:
            first = trial.psnr_db
        weights = model.klt_weights(trial.band_mse, scales)
    return weights, first


def _with_map_filter(job: EncodeJob, search: Any, coder: mapcoders.MapCoder, room: float,
                     best: Any, iters: int, facts: dict, reserved: int = 0) -> Any:
    """``best`` (the search's trial at ``room`` bytes), or the cube coded again with a map
    filter's bytes taken from the maps, the filter trained on those maps where ``--device``
    says and the embeddings refitted to the filtered maps: whichever measured better (by at
    least :data:`mapfilter.MIN_GAIN_DB`). ``reserved``: the search already left that many
    bytes of ``room`` for a filter (:func:`mapfilter.up_front`): the filter is trained on
    ``best``'s own maps, nothing is coded again. ``facts["device"]``: where a kept filter
    trained."""
    from hinerc.codecs.lowrank import model

    prep, h, w = job.prep, job.height, job.width
    if reserved:
        alt, reserve = best, reserved
    else:
        width = mapfilter.width_for(room, best.rank)
        if not width:
            return best
        reserve = mapfilter.payload_bytes(best.rank, width) + 12
        job.stage("coding the maps again, for a map filter")
        try:
            alt = search(room - reserve)
        except RateError:
            return best
    k = alt.rank
    width = mapfilter.widest(reserve - 12, k)  # the rank may differ: as wide as the bytes kept
    if not k or not width:
        return best
    device = resolve_device(job.device)
    job.stage("training the map filter")
    u = np.array(coder.decode_planes(alt.code.maps, h, w, k), np.float64)  # one copy
    u -= alt.code.centres.astype(np.float64)[:, None, None]
    u /= 32767.5

    def tick(done: int, total: int) -> None:
        job.progress(Progress(done, total, "map filter"))

    # the bands as the search read them: a scene's, a few rows at a time
    filt = mapfilter.train(u, prep, prep.valid, alt.code.embeddings(), width, iters, job.seed,
                           device, tick)
    del u
    scales = prep.table.scales[prep.table.coded]
    trial = model.filtered_trial(prep, prep.valid, scales, coder, alt.code, alt.rel, filt)
    gain = trial.psnr_db - best.psnr_db
    if job.report is not None:
        job.report.extra["map_filter_gain_db"] = round(gain, 3)
    size = trial.size + mapfilter.payload_bytes(k, width) + 12
    short = size < (1 - job.budget.tolerance) * room and not reserved
    if short or size > room or gain < mapfilter.MIN_GAIN_DB:
        return best  # (a file short of the rate's window would not land it)
    facts["device"] = device
    return trial


def _coder_title(name: str) -> str:
    return mapcoders.get(name).label or name


def _header(h: int, w: int, n: int) -> HnrHeader:
    """A header with the geometry the codec's parse and decode need (encode side)."""
    return HnrHeader(h, w, max(n, 1), "float32", n, 4)
