"""The HINER network: spectral encoder (training only) and pixel-shuffle decoder.

Data flow for one band, after Chen et al., "HINER: Neural Representation for Hyperspectral
Image", ACM MM 2024::

    wavelength ──► normalise to [0,1] ──► PE (sin/cos, L levels) ──► MLP ──► embedding E×fh×fw
                                                                              │
    image ◄── crop H×W ◄── 0.5·tanh+0.5 ◄── head conv ◄── [conv k×k ► PixelShuffle(s) ► GELU]×n
                                                           ◄── GELU ◄── 1×1 stem conv ◄┘

Only the decoder and the per-band embeddings are stored in a ``.hnr``; the encoder MLP exists
to train them (it is not stored: it aliases between bands, see :mod:`hinerc.spectral`).
State-dict names match :meth:`hinerc.format.header.ModelConfig.tensor_specs`.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hinerc.codecs.hiner.config import ModelConfig


def normalised_coordinate(coords: np.ndarray) -> np.ndarray:
    """Map spectral coordinates (nm or band index) to [0, 1] by their range."""
    coords = np.asarray(coords, dtype=np.float64)
    if coords.size == 0:
        return coords
    lo, hi = float(coords.min()), float(coords.max())
    if hi <= lo:
        return np.zeros_like(coords)
    return (coords - lo) / (hi - lo)


class PositionalEncoding(nn.Module):
    """``[sin(p·b_k), cos(p·b_k)]`` with ``b_k = base**k · π``, computed in float64."""

    def __init__(self, base: float, levels: int):
        super().__init__()
        bases = torch.tensor([base**k * math.pi for k in range(levels)], dtype=torch.float64)
        self.register_buffer("bases", bases, persistent=False)
        self.dim = 2 * levels

    def forward(self, p: torch.Tensor) -> torch.Tensor:
        x = p.to(torch.float64)[:, None] * self.bases[None, :]
        return torch.cat([torch.sin(x), torch.cos(x)], dim=1).to(torch.float32)


class SpectralEncoder(nn.Module):
    """Wavelength → embedding: PE, then Linear → GELU → Linear, reshaped to E×fh×fw."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.pe = PositionalEncoding(cfg.pe_base, cfg.pe_levels)
        out = cfg.embed_channels * cfg.embed_h * cfg.embed_w
        self.mlp = nn.Sequential(nn.Linear(self.pe.dim, cfg.mlp_hidden), nn.GELU(),
                                 nn.Linear(cfg.mlp_hidden, out))

    def forward(self, p: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        return self.mlp(self.pe(p)).view(-1, cfg.embed_channels, cfg.embed_h, cfg.embed_w)


class Decoder(nn.Module):
    """Embedding (N×E×fh×fw) → band images (N×1×Hf×Wf) in (0, 1)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        self.stem = nn.Conv2d(cfg.embed_channels, c[0], 1)
        self.stages = nn.ModuleList(
            nn.Conv2d(c[i], c[i + 1] * s * s, k, padding=(k - 1) // 2)
            for i, (s, k) in enumerate(zip(cfg.strides, cfg.kernels)))
        self.head = nn.Conv2d(c[-1], 1, cfg.head_kernel, padding=(cfg.head_kernel - 1) // 2)

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.stem(emb))
        for conv, s in zip(self.stages, self.cfg.strides):
            x = F.gelu(F.pixel_shuffle(conv(x), s))
        return 0.5 * torch.tanh(self.head(x)) + 0.5

    def load_numpy(self, tensors: dict[str, np.ndarray]) -> None:
        """Load weights from plain numpy arrays (as decoded from a ``.hnr``)."""
        state = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
                 for k, v in tensors.items() if k != "embeddings"}
        self.load_state_dict(state, strict=True)

    def numpy_state(self) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().numpy().astype(np.float32) for k, v in self.state_dict().items()}


def decode_bands(cfg: ModelConfig, tensors: dict[str, np.ndarray], height: int, width: int,
                 device: str = "cpu", batch: int = 16) -> np.ndarray:
    """Run the stored decoder on the stored embeddings; returns N×H×W float32 in [0, 1]."""
    return BandDecoder(cfg, tensors, height, width, device)(tensors["embeddings"], batch)


class BandDecoder:
    """The stored decoder, loaded once, applied to any embeddings (stored or interpolated)."""

    def __init__(self, cfg: ModelConfig, tensors: dict[str, np.ndarray], height: int, width: int,
                 device: str = "cpu"):
        self.cfg, self.height, self.width, self.device = cfg, height, width, device
        self.net = Decoder(cfg)
        self.net.load_numpy(tensors)
        self.net.to(device).eval()

    @torch.no_grad()
    def __call__(self, embeddings: np.ndarray, batch: int = 16) -> np.ndarray:
        """N×E×fh×fw embeddings → N×H×W float32 images in [0, 1]."""
        emb = torch.from_numpy(np.ascontiguousarray(embeddings, dtype=np.float32))
        n = emb.shape[0]
        out = np.empty((n, self.height, self.width), dtype=np.float32)
        t, l = self.cfg.crop_top, self.cfg.crop_left
        for i in range(0, n, batch):
            y = self.net(emb[i: i + batch].to(self.device))
            out[i: i + batch] = y[:, 0, t: t + self.height, l: l + self.width].float().cpu().numpy()
        return out
