"""SpectralFormer (CAF mode) and Adaptive Spectral Weighting, after the method reference §8.4–8.6.

* :class:`ASW`: a learned per-band weight ``w`` (zero at start) and a 1×1-convolution MLP over
  the bands: ``y = x·(1 + w)``, ``out = y + MLP(y)``: one residual, not the published code's
  double one (which added the input a second time).
* :func:`patches`: 7×7 neighbourhoods around pixels (edge-inclusive mirror padding, as
  SpectralFormer's), flattened row-major; :func:`tokens`: token b joins bands b−1, b, b+1
  (wrapping around). ASW is per pixel, so it runs on the patches, not on the whole cube.
* :class:`SpectralFormer`: linear token embedding, a class token and position embedding,
  ``depth`` pre-norm transformer layers whose inputs 2..depth−2 fuse with the input two layers
  back (cross-layer adaptive fusion, a (1, 2) convolution over the token axis), LayerNorm and a
  linear head on the class token.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class ClassifierConfig:
    """Everything needed to rebuild a classifier (saved next to its weights)."""

    bands: int
    classes: int
    patch: int = 7
    band_patches: int = 3
    dim: int = 64
    depth: int = 5
    heads: int = 4
    dim_head: int = 16
    mlp_dim: int = 8
    dropout: float = 0.1
    asw: bool = True
    asw_hidden: int = 50

    def to_dict(self) -> dict:
        return asdict(self)


class ASW(nn.Module):
    """Adaptive Spectral Weighting on spectra (…×C): per pixel, so it runs on patches only."""

    def __init__(self, bands: int, hidden: int = 50):
        super().__init__()
        self.register_buffer("beta", torch.full((1, 1), 2e-5))
        self.fc1 = nn.Linear(1, max(1, bands // 2))
        self.fc2 = nn.Linear(max(1, bands // 2), bands)
        nn.init.zeros_(self.fc2.weight)
        nn.init.zeros_(self.fc2.bias)
        # the 1×1-convolution MLP over the bands, as linear layers on spectra
        self.mlp = nn.Sequential(nn.Linear(bands, hidden), nn.GELU(), nn.Linear(hidden, bands))

    def band_weights(self) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(self.beta))).reshape(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * (1 + self.band_weights())
        return y + self.mlp(y)


def mirror_pad(x: torch.Tensor, r: int) -> torch.Tensor:
    """Edge-inclusive mirror padding (``numpy.pad(mode="symmetric")``) of the last two axes by
    ``r``; an image smaller than the pad repeats mirrored."""
    for axis in (-2, -1):
        left = right = r
        while left > 0 or right > 0:
            n = x.shape[axis]
            a, b = min(left, n), min(right, n)
            x = torch.cat([x.narrow(axis, 0, a).flip(axis), x,
                           x.narrow(axis, n - b, b).flip(axis)], dim=axis)
            left, right = left - a, right - b
    return x


def patches(cube: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, patch: int = 7
            ) -> torch.Tensor:
    """N×P²×C spectra of the P×P neighbourhoods (row-major) of pixels (rows, cols) of a C×H×W
    cube, mirror-padded at the borders."""
    r = patch // 2
    padded = mirror_pad(cube, r) if r else cube  # C×(H+2r)×(W+2r)
    dy, dx = torch.meshgrid(torch.arange(patch), torch.arange(patch), indexing="ij")
    yy = rows[:, None] + dy.reshape(1, -1)  # N×P² in padded coordinates
    xx = cols[:, None] + dx.reshape(1, -1)
    return padded[:, yy, xx].permute(1, 2, 0)  # N×P²×C


def tokens(spectra: torch.Tensor, band_patches: int = 3) -> torch.Tensor:
    """N×C×(P²·band_patches) tokens from N×P²×C patch spectra: token b joins the P²-vectors of
    bands b−1, b, b+1 (for 3), wrapping around at the ends."""
    flat = spectra.transpose(1, 2)  # N×C×P²
    half = band_patches // 2
    return torch.cat([torch.roll(flat, shifts=-o, dims=1) for o in range(-half, half + 1)], dim=2)


class _Layer(nn.Module):
    def __init__(self, dim: int, heads: int, dim_head: int, mlp_dim: int, dropout: float):
        super().__init__()
        inner = heads * dim_head
        self.heads, self.scale = heads, dim_head ** -0.5
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, inner * 3, bias=False)
        self.out = nn.Sequential(nn.Linear(inner, dim), nn.Dropout(dropout))
        self.norm2 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, mlp_dim), nn.GELU(), nn.Dropout(dropout),
                                nn.Linear(mlp_dim, dim), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)
        q, k, v = (t.reshape(b, n, self.heads, -1).transpose(1, 2) for t in (q, k, v))
        att = F.scaled_dot_product_attention(q, k, v, scale=self.scale)
        x = x + self.out(att.transpose(1, 2).reshape(b, n, -1))
        return x + self.ff(self.norm2(x))


def _fuse(conv: nn.Conv2d, x: torch.Tensor, earlier: torch.Tensor) -> torch.Tensor:
    """CAF: ``conv`` (tokens as channels, kernel (1, 2)) over ``[x, earlier]`` stacked on a last
    axis, as one token-mixing matrix product: the same result, faster on a CPU than the
    convolution."""
    b, t, d = x.shape
    w = conv.weight.reshape(t, t, 2).transpose(1, 2).reshape(t, 2 * t)  # [W₀ W₁]
    both = torch.cat([x, earlier], dim=1).transpose(0, 1).reshape(2 * t, b * d)
    out = torch.addmm(conv.bias[:, None], w, both)  # T×(B·D)
    return out.reshape(t, b, d).transpose(0, 1)


class SpectralFormer(nn.Module):
    """SpectralFormer, CAF mode, on tokens from :func:`patches`."""

    def __init__(self, cfg: ClassifierConfig):
        super().__init__()
        self.cfg = cfg
        tokens = cfg.bands + 1
        self.embed = nn.Linear(cfg.patch * cfg.patch * cfg.band_patches, cfg.dim)
        self.cls = nn.Parameter(torch.randn(1, 1, cfg.dim))
        self.pos = nn.Parameter(torch.randn(1, tokens, cfg.dim))
        self.drop = nn.Dropout(cfg.dropout)
        self.layers = nn.ModuleList(_Layer(cfg.dim, cfg.heads, cfg.dim_head, cfg.mlp_dim,
                                           cfg.dropout) for _ in range(cfg.depth))
        self.fuse = nn.ModuleList(nn.Conv2d(tokens, tokens, (1, 2))
                                  for _ in range(max(0, cfg.depth - 2)))
        self.head = nn.Sequential(nn.LayerNorm(cfg.dim), nn.Linear(cfg.dim, cfg.classes))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embed(tokens)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        x = self.drop(x)
        history = []
        for j, layer in enumerate(self.layers):
            if j >= 2:  # cross-layer adaptive fusion with the input two layers back
                x = _fuse(self.fuse[j - 2], x, history[j - 2])
            history.append(x)
            x = layer(x)
        return self.head(x[:, 0])


class Classifier(nn.Module):
    """ASW (optional) then SpectralFormer: patch spectra (N×P²×C) → class logits."""

    def __init__(self, cfg: ClassifierConfig):
        super().__init__()
        self.cfg = cfg
        self.asw = ASW(cfg.bands, cfg.asw_hidden) if cfg.asw else None
        self.former = SpectralFormer(cfg)

    def weigh(self, spectra: torch.Tensor) -> torch.Tensor:
        return self.asw(spectra) if self.asw is not None else spectra

    def forward(self, spectra: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and the ASW output (the input itself without ASW)."""
        weighed = self.weigh(spectra)
        return self.former(tokens(weighed, self.cfg.band_patches)), weighed
