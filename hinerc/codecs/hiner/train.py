"""Fitting a HINER network to one cube: Adam, linear warm-up then cosine decay, L1 + γ·CAM.

The loss and the reported PSNR are computed on the real pixels only: the H×W window of the
decoder frame, minus no-data samples. Several bands may go through one optimizer step. The loop
knows nothing about files; it returns the float decoder weights and the per-band embeddings,
in band order.

Divergence (a non-finite epoch loss, or one that jumps far above the best so far) is caught at
the end of each epoch: the last good weights and optimizer state are restored and training goes
on at half the learning rate, at most ``max_restarts`` times, after which a
:class:`~hinerc.errors.TrainingError` is raised and nothing is written.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import torch

from hinerc.errors import TrainingError
from hinerc.codecs.hiner.config import ModelConfig
from hinerc.codecs.hiner.network import Decoder, SpectralEncoder, normalised_coordinate


@dataclass
class TrainConfig:
    """Training hyper-parameters (defaults follow the published method unless noted)."""

    epochs: int = 100
    lr: float = 3e-3  # published 1e-3 at one band per step; 3e-3 suits 4 bands per step
    bands_per_step: int = 4
    warmup: float = 0.1  # fraction of training spent in linear warm-up from 0.1·lr
    cam_weight: float = 0.01  # γ per degree of content angle (published 0.5·L1 + 0.005·CAM°)
    seed: int = 0
    device: str = "cpu"
    time_limit: Optional[float] = None  # seconds: the schedule follows time, training stops there
    max_restarts: int = 3  # divergence recoveries before giving up


#: An epoch whose mean loss exceeds this multiple of the best one so far counts as divergence
#: (the loss is bounded: outputs lie in (0, 1), so divergence shows as a jump, not infinity).
EXPLODE_FACTOR = 3.0


@dataclass
class EpochStats:
    epoch: int
    epochs: int
    loss: float
    psnr_db: float
    elapsed: float


@dataclass
class FitResult:
    decoder: dict[str, np.ndarray]
    embeddings: np.ndarray  # N×E×fh×fw, band order
    epochs_done: int
    loss: float
    psnr_db: float
    restarts: int = 0  # divergence recoveries
    encoder: Optional[dict[str, np.ndarray]] = None  # spectral encoder weights (not stored)


def learning_rate(t: float, tc: TrainConfig) -> float:
    """Published schedule ``cosine_0.1_1_0.1``: warm-up from 0.1·lr, then cosine to zero."""
    if t < tc.warmup:
        return tc.lr * (0.1 + 0.9 * t / tc.warmup)
    return tc.lr * 0.5 * (1.0 + math.cos(math.pi * (t - tc.warmup) / (1.0 - tc.warmup)))


def _cam_degrees(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean angle (degrees) between each predicted and target band image, flattened."""
    p, t = pred.flatten(1), target.flatten(1)
    cos = (p * t).sum(1) / (p.norm(dim=1) * t.norm(dim=1)).clamp_min(1e-12)
    return torch.rad2deg(torch.acos(cos.clamp(-1 + 1e-7, 1 - 1e-7))).mean()


def fit(target: np.ndarray, valid: Optional[np.ndarray], coords: np.ndarray, cfg: ModelConfig,
        tc: TrainConfig, progress: Optional[Callable[[EpochStats], None]] = None) -> FitResult:
    """Fit the network to ``target`` (N×H×W float32 in [0, 1]).

    Args:
        target: normalised band images, band order.
        valid: N×H×W boolean, True on real (not no-data) samples; ``None`` means all valid.
        coords: spectral coordinate of each band (nm or index), any order.
        cfg: decoder architecture.
        tc: training settings.
        progress: called after every epoch.
    """
    torch.manual_seed(tc.seed)
    gen = torch.Generator().manual_seed(tc.seed)
    device = torch.device(tc.device)
    n, h, w = target.shape
    top, left = cfg.crop_top, cfg.crop_left

    encoder = SpectralEncoder(cfg).to(device)
    decoder = Decoder(cfg).to(device)
    params = list(encoder.parameters()) + list(decoder.parameters())
    opt = torch.optim.Adam(params, lr=tc.lr)

    tgt = torch.from_numpy(np.ascontiguousarray(target, dtype=np.float32)).to(device)
    mask = None
    if valid is not None and not valid.all():
        mask = torch.from_numpy(np.ascontiguousarray(valid)).to(device)
    p = torch.from_numpy(normalised_coordinate(coords)).to(device)

    bps = max(1, min(tc.bands_per_step, n))
    steps_per_epoch = math.ceil(n / bps)
    total = tc.epochs * steps_per_epoch
    start = time.perf_counter()
    loss_v = float("nan")
    psnr = float("nan")
    epochs_done = 0
    lr_scale = 1.0
    restarts = 0
    best_loss = math.inf
    good = _snapshot(encoder, decoder, opt)
    epoch = 0
    while epoch < tc.epochs:
        order = torch.randperm(n, generator=gen).to(device)
        sum_loss = torch.zeros((), device=device)
        sum_psnr = torch.zeros((), device=device)
        seen = 0
        out_of_time = False
        for it in range(steps_per_epoch):
            idx = order[it * bps: (it + 1) * bps]
            progress_t = (epoch * steps_per_epoch + it) / total
            if tc.time_limit is not None:  # run the schedule on time when time is shorter
                used = (time.perf_counter() - start) / tc.time_limit
                if used >= 1.0 and seen:
                    out_of_time = True
                    break
                progress_t = max(progress_t, used)
            for g in opt.param_groups:
                g["lr"] = lr_scale * learning_rate(min(progress_t, 1.0), tc)
            pred = decoder(encoder(p[idx]))[:, 0, top: top + h, left: left + w]
            y = tgt[idx]
            if mask is not None:
                m = mask[idx]
                pred = torch.where(m, pred, y)  # no-data samples contribute nothing
                count = m.flatten(1).sum(1).clamp_min(1)
            else:
                count = torch.full((idx.numel(),), h * w, device=device)
            err = (pred - y).flatten(1)
            l1 = (err.abs().sum(1) / count).mean()
            loss = l1 + tc.cam_weight * _cam_degrees(pred, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                mse = (err.square().sum(1) / count).clamp_min(1e-12)
                sum_psnr += (-10.0 * torch.log10(mse)).sum()
                sum_loss += loss.detach() * idx.numel()
            seen += idx.numel()
        epoch_loss = float(sum_loss) / seen
        if not math.isfinite(epoch_loss) or epoch_loss > EXPLODE_FACTOR * best_loss:
            if restarts >= tc.max_restarts:
                raise TrainingError(f"training diverged at epoch {epoch + 1} (loss {epoch_loss:.4g}) "
                                    f"{restarts + 1} times, even at {lr_scale:g}× the learning rate")
            restarts += 1
            lr_scale *= 0.5
            _restore(good, encoder, decoder, opt)
            epoch = epochs_done  # redo from the last good epoch
            continue
        best_loss = min(best_loss, epoch_loss)
        good = _snapshot(encoder, decoder, opt)
        loss_v = epoch_loss
        psnr = float(sum_psnr) / seen
        epochs_done = epoch + 1
        epoch += 1
        if progress is not None:
            progress(EpochStats(epochs_done, tc.epochs, loss_v, psnr, time.perf_counter() - start))
        if out_of_time or (tc.time_limit is not None
                           and time.perf_counter() - start >= tc.time_limit):
            break

    encoder.eval()  # the weights are those of the last good epoch
    with torch.no_grad():
        emb = encoder(p).float().cpu().numpy()
    enc_state = {k: v.detach().cpu().numpy() for k, v in encoder.state_dict().items()}
    return FitResult(decoder.numpy_state(), emb, epochs_done, loss_v, psnr, restarts, enc_state)


def _snapshot(encoder: torch.nn.Module, decoder: torch.nn.Module, opt: torch.optim.Optimizer) -> dict:
    return {"encoder": copy.deepcopy(encoder.state_dict()),
            "decoder": copy.deepcopy(decoder.state_dict()),
            "opt": copy.deepcopy(opt.state_dict())}


def _restore(snap: dict, encoder: torch.nn.Module, decoder: torch.nn.Module,
             opt: torch.optim.Optimizer) -> None:
    encoder.load_state_dict(snap["encoder"])
    decoder.load_state_dict(snap["decoder"])
    opt.load_state_dict(snap["opt"])
