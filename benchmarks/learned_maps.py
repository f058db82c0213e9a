"""A learned coder of the shared maps, measured against hinerc's HEVC maps (issue 18, items 1–2).

What it is: an overfitted coder in the manner of Cool-chic (Orange) and C3 (DeepMind), adapted
to a hyperspectral cube: latent grids at several resolutions, quantized to integers; a small
autoregressive model (an MLP over 12 causal neighbours in a 5×5 window, optionally the same
position in the previous ``--cctx`` channels) giving each latent a Laplace distribution; the
grids upsampled (bilinear) and a small synthesis (1×1 convolutions, a depthwise 3×3 residual)
giving k maps; the k maps mixed per band by an embedding (k×N plus an offset, learned too).
Trained end to end with torch on the per-band normalised squared error plus λ·rate (additive
uniform noise for the first 70% of the steps, then the straight-through rounding), Adam.

Three starting points (``--init``):

* ``scratch``: latents at zero, as Cool-chic starts (levels of ``--chans`` channels each);
* ``dpcm``: the k principal components at full resolution, divided by the step ``--delta``
  (so step 0 is "PCA, scalar quantization, context-coded"), plus ``--chans`` coarser levels;
* ``pyramid``: the k components as a Laplacian pyramid (``--levels``), the step halved per
  coarser level (the average pooling's gain), the synthesis' linear path its exact inverse.

The rate is an **estimate**: the ideal code length of the rounded latents under the float
model, the network's weights at 8 bits each, the embeddings at 5 bits per value (what SPEC
costs hinerc on Jasper Ridge), and 1,700 bytes of header. With ``--bitstream`` the coder is
also written for real (:mod:`learned_bitstream`: the context model in integers, the latents
range coded and decoded back, the weights quantized, the embeddings refitted and coded by
hinerc's SPEC writer, the container's bytes as hinerc's file of the cube has them) and the
row gains the real rate and the PSNR of what those bytes decode to. The PSNR is real: mean per-band PSNR of the
decoded cube in the cube's units (peak = band range), as the anchors measure it. hinerc's
own file at the same target is encoded in the same process for the comparison.

    python benchmarks/learned_maps.py --init dpcm --delta 0.06 --lam 3e-5 --iters 1500
    python benchmarks/learned_maps.py --init dpcm --delta 0.06 --lam 3e-5 --iters 1500 --bitstream
    python benchmarks/learned_maps.py --init scratch --chans 8,8,4,4,2,2 --lam 1e-3 --iters 600

Prints one JSON line per run (append it to ``benchmarks/results/learned_maps.md`` by hand).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
ANCHORS = HERE.parents[1] / "shared" / "anchors"


def _args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cube", default="jasper", help="a name of ../shared/anchors/cubes.py")
    p.add_argument("--k", type=int, default=26, help="maps (hinerc's rank at the rate)")
    p.add_argument("--init", choices=("scratch", "dpcm", "pyramid"), default="dpcm")
    p.add_argument("--chans", default="2,2,2,2,2",
                   help="channels of the latent levels after the first (scratch: every level)")
    p.add_argument("--levels", type=int, default=4, help="pyramid levels (--init pyramid)")
    p.add_argument("--delta", type=float, default=0.06, help="quantization step of the start")
    p.add_argument("--lam", type=float, default=3e-5, help="λ of MSE + λ·bits per sample")
    p.add_argument("--iters", type=int, default=1500)
    p.add_argument("--hidden", type=int, default=48, help="width of the synthesis")
    p.add_argument("--cctx", type=int, default=0, help="previous channels in the context")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rate", type=float, default=None,
                   help="hinerc's file to compare with (default: the learned coder's estimate)")
    p.add_argument("--no-hinerc", action="store_true", help="skip hinerc's own file")
    p.add_argument("--bitstream", action="store_true",
                   help="also write the real bitstream (learned_bitstream.py): real rate, "
                        "the PSNR of what it decodes to, hinerc compared at that rate")
    return p.parse_args(argv)


def _laplace_bits(v, mu, b):
    """Ideal code length (bits) of integers ``v`` under a Laplace(mu, b) discretised to unit
    bins (computed on the side of the mean where the exponentials cannot overflow)."""
    import torch

    d = (v - mu).abs()
    hi = torch.exp(-(d - 0.5).clamp(min=0) / b)
    lo = torch.exp(-(d + 0.5) / b)
    inner = 1 - 0.5 * (torch.exp(-(0.5 - d).clamp(min=0) / b) + lo)
    p = torch.where(d < 0.5, inner, 0.5 * (hi - lo))
    return -torch.log2(p.clamp(min=2.0 ** -20))


def build(a, h: int, w: int, basis, mean, scores):
    """The coder as a torch module, its latents started as ``--init`` says."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    k, n = basis.shape
    rest = [int(c) for c in a.chans.split(",") if c]
    if a.init == "scratch":
        chans = rest
    elif a.init == "dpcm":
        chans = [k] + rest
    else:
        chans = [k] * a.levels
    linear_levels = {"scratch": 0, "dpcm": 1, "pyramid": len(chans)}[a.init]
    nctx = 12 + a.cctx

    class Coder(nn.Module):
        def __init__(self):
            super().__init__()
            self.lat = nn.ParameterList(
                nn.Parameter(torch.zeros(1, c, math.ceil(h / 2 ** l), math.ceil(w / 2 ** l)))
                for l, c in enumerate(chans))
            self.s1 = nn.Conv2d(sum(chans), a.hidden, 1)
            self.s2 = nn.Conv2d(a.hidden, k, 1)
            self.r1 = nn.Conv2d(k, k, 3, padding=1, groups=k)
            for layer in (self.r1, self.s2):
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)
            if a.init == "scratch":  # no linear path: the synthesis must start from noise
                nn.init.normal_(self.s2.weight, 0, 0.05)
            steps = [[a.delta / 2 ** l] * k for l in range(max(linear_levels, 1))]
            self.gain = nn.Parameter(torch.tensor(steps))
            self.emb = nn.Parameter(basis.clone() if a.init != "scratch"
                                    else basis * scores.std(0)[:, None])
            self.bias = nn.Parameter(mean.clone())
            self.arm = nn.Sequential(nn.Linear(nctx, 24), nn.ReLU(), nn.Linear(24, 24),
                                     nn.ReLU(), nn.Linear(24, 2))
            m = torch.zeros(25, dtype=torch.bool)
            m[:12] = True  # the 12 positions before the centre of a 5×5 window, raster order
            self.register_buffer("causal", m)

        def context(self, y):
            c, hh, ww = y.shape[1:]
            u = F.unfold(y.reshape(c, 1, hh, ww), 5, padding=2)[:, self.causal, :]
            if a.cctx:
                flat = y.reshape(c, hh * ww)
                prev = [torch.cat([torch.zeros(j, hh * ww), flat[:c - j]], 0) if j < c
                        else torch.zeros(c, hh * ww) for j in range(1, a.cctx + 1)]
                u = torch.cat([u, torch.stack(prev, 1)], 1)
            return u.permute(0, 2, 1).reshape(-1, nctx)

        k = basis.shape[0]

        def maps(self, mode: str):
            """The k maps (1 × k × h × w) and the latents' bits under the float model."""
            ups, raw, bits = [], [], 0.0
            for l, p in enumerate(self.lat):
                if mode == "noise":
                    y = p + torch.empty_like(p).uniform_(-0.5, 0.5)
                elif mode == "ste":
                    y = p + (torch.round(p) - p).detach()
                else:
                    y = torch.round(p)
                o = self.arm(self.context(y))
                bits = bits + _laplace_bits(y.reshape(-1), o[:, 0],
                                            F.softplus(o[:, 1]) + 0.05).sum()
                raw.append(y)
                ups.append(F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False)
                           if l else y)
            m = self.s2(F.relu(self.s1(torch.cat(ups, 1) * 0.02)))
            if linear_levels:
                top = linear_levels - 1
                acc = raw[top][:, :k] * self.gain[top][None, :, None, None]
                for l in range(top - 1, -1, -1):
                    acc = (F.interpolate(acc, size=raw[l].shape[2:], mode="bilinear",
                                         align_corners=False)
                           + raw[l][:, :k] * self.gain[l][None, :, None, None])
                m = m + acc
            return m + self.r1(m), bits

        def forward(self, mode: str):
            m, bits = self.maps(mode)
            return m[0].reshape(k, -1).T @ self.emb + self.bias, bits

    net = Coder()
    with torch.no_grad():
        cur = scores.T.reshape(1, k, h, w)
        if a.init == "dpcm":
            net.lat[0].copy_(cur / a.delta)
        elif a.init == "pyramid":
            for l in range(len(chans)):
                if l == len(chans) - 1:
                    band = cur
                else:
                    coarse = F.avg_pool2d(cur, 2, ceil_mode=True)
                    band = cur - F.interpolate(coarse, size=cur.shape[2:], mode="bilinear",
                                               align_corners=False)
                net.lat[l].copy_(band / (a.delta / 2 ** l))
                if l < len(chans) - 1:
                    cur = coarse
    return net


def train(net, target, lam: float, iters: int) -> float:
    """Adam on MSE + λ·bits per sample: uniform noise for 70% of the steps, then the
    straight-through rounding at 0.3× the learning rates. Returns the seconds taken."""
    import torch

    latents = list(net.lat.parameters())
    others = [p for name, p in net.named_parameters() if not name.startswith("lat")]
    opt = torch.optim.Adam([{"params": latents, "lr": 1e-2}, {"params": others, "lr": 1e-3}])
    t0 = time.time()
    for it in range(iters):
        noisy = it < 0.7 * iters
        if it == int(0.7 * iters):
            for g in opt.param_groups:
                g["lr"] *= 0.3
        rec, bits = net("noise" if noisy else "ste")
        loss = ((rec - target) ** 2).mean() + lam * bits / target.numel()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.time() - t0


def _container_bytes(cube) -> int:
    """What a .hnr holds besides its model's SPEC and MAPS (header, metadata, band table,
    report) for this cube, from a small file of hinerc's own."""
    import hinerc

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "c.hnr"
        hinerc.compress(hinerc.Cube(np.asarray(cube)), out, bpppb=0.05)
        info = hinerc.inspect(out)
    return int(info["file_bytes"] - info["sections"].get("SPEC", 0)
               - info["sections"].get("MAPS", 0))


def main(argv=None) -> None:
    a = _args(argv)
    sys.path.insert(0, str(ANCHORS))
    import cubes  # the anchors' loader: the benchmark's cubes as they load them

    cube, _, _ = cubes.load(a.cube)
    row, _ = run(a, cube)
    print(json.dumps(row), flush=True)


def run(a, cube) -> tuple[dict, "np.ndarray | None"]:
    """Train the coder of ``a`` on ``cube`` (H×W×N) and measure it: the row :func:`main`
    prints, and with ``a.bitstream`` the cube its real bitstream decodes to (float64, in the
    cube's units; else ``None``)."""
    import torch

    sys.path.insert(0, str(ANCHORS))
    from metrics import psnr_band

    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    x = np.asarray(cube, np.float64)
    h, w, n = x.shape
    lo, hi = x.min((0, 1)), x.max((0, 1))
    span = np.maximum(hi - lo, 1e-12)
    target = torch.tensor(((x - lo) / span).reshape(-1, n), dtype=torch.float32)
    mean = target.mean(0)
    _, _, vt = torch.linalg.svd(target - mean, full_matrices=False)
    basis = vt[: a.k]
    scores = (target - mean) @ basis.T
    net = build(a, h, w, basis, mean, scores)
    samples = h * w * n
    train_s = train(net, target, a.lam, a.iters)
    with torch.no_grad():
        rec, bits = net("round")
    decoded = lo + rec.numpy().astype(np.float64).clip(0, 1).reshape(h, w, n) * span
    weights = sum(p.numel() for name, p in net.named_parameters()
                  if not name.startswith("lat") and name not in ("emb", "bias"))
    emb_bytes = (a.k + 1) * n * 5 / 8
    total = bits.item() / 8 + weights + emb_bytes + 1700
    row = {"cube": a.cube, "init": a.init, "k": a.k, "chans": a.chans, "delta": a.delta,
           "lam": a.lam, "iters": a.iters, "cctx": a.cctx,
           "psnr_db": round(psnr_band(x, decoded), 3),
           "bpppb_estimate": round(total * 8 / samples, 4),
           "latent_bytes": int(bits.item() / 8), "weight_bytes": weights,
           "train_s": round(train_s, 1), "s_per_iter": round(train_s / max(1, a.iters), 3),
           "threads": a.threads}
    rate = row["bpppb_estimate"]
    dec_real = None
    if a.bitstream:
        from learned_bitstream import real_file

        f = real_file(net, target.numpy().astype(np.float64), a.lam, _container_bytes(cube))
        rate = round(f.total * 8 / samples, 4)
        dec_real = lo + f.decoded.reshape(h, w, n) * span
        row["real"] = {"psnr_db": round(psnr_band(x, dec_real), 3), "bpppb": rate,
                       "latent_bytes": f.latents, "arm_bytes": f.arm, "arm_bits": f.arm_bits,
                       "latent_bytes_without_context": f.latents_without_context,
                       "weight_bytes": f.weights, "weight_bits": f.weight_bits,
                       "spec_bytes": f.spec, "spec_rel": f.rel, "header_bytes": f.header,
                       "decode_s": round(f.decode_s, 2)}
    if not a.no_hinerc:
        import hinerc

        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "c.hnr"
            t1 = time.time()
            rate = a.rate if a.rate is not None else rate
            hinerc.compress(hinerc.Cube(np.asarray(cube)), out, bpppb=rate)
            dec = np.asarray(hinerc.decompress(out).data, np.float64)
            row["hinerc"] = {"bpppb": round(out.stat().st_size * 8 / samples, 4),
                             "psnr_db": round(psnr_band(x, dec), 3),
                             "rank": hinerc.inspect(out).get("rank"),
                             "seconds": round(time.time() - t1, 1)}
    return row, dec_real


if __name__ == "__main__":
    main()
