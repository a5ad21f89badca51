"""The high-frequency-sensitive compressor (FaSDiff's first idea), built on CompressAI.

A mean-scale hyperprior (Minnen et al. 2018) whose analysis transform sees the image *and* its wavelet
detail bands, with one set of weights for a continuous range of rates (CompressAI's variable-rate model,
Kamisli et al. 2024). Its decoded latent ``y_hat`` is the **visual prompt** that later steers the
diffusion prior.

::

                ┌─ spatial: conv↓ GDN conv↓ GDN ──────────────┐
    x ─────────┤                                              ├─ fuse 1×1 ─ conv↓ GDN conv↓ ─▶ y
                └─ DWT detail bands (H,V,D) ─ conv GDN conv↓ ─┘            (g_a: 16× smaller)

    y ─h_a─▶ z ─Q─▶ ẑ ─h_s─▶ (μ, σ)                                  hyperprior: side information
    (y − μ)·gain ─Q─▶ range coder (Gaussian σ·gain) ─▶ bytes ─▶ ŷ = q/gain + μ      "visual prompt"
    ŷ ─g_s─▶ x̂                                                        fidelity reconstruction

- ``frequency_branch=False`` drops the lower path: the plain mean-scale hyperprior, the baseline.
- ``rate`` ∈ [0, 1] picks the quantisation gain (and, in training, the λ of the rate–distortion loss) by
  log-linear interpolation between 8 trained levels, so a slider moves smoothly between them.
- The entropy models (``EntropyBottleneck`` for z, ``GaussianConditional`` for y) and the range coder
  are CompressAI's; nothing here writes bits by hand. ``compress`` returns real bytes (a ``.fsd``
  container from :mod:`fasdiff_lite.bitstream`), ``decompress`` inverts it.
"""
from __future__ import annotations

import contextlib
import json
import math
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

with warnings.catch_warnings():  # compressai calls the deprecated torch.jit.script at import time
    warnings.simplefilter("ignore", FutureWarning)
    from compressai.layers import GDN
    from compressai.models.utils import conv
    from compressai.models.vbr import MeanScaleHyperpriorVbr

from .. import frequency

# 8 trained rate levels: λ (weight of the distortion, MSE on [0,1] × 255²) and the quantisation gain.
# Lower than CompressAI's defaults: 64-px faces and a diffusion decoder live at low rates.
LAMBDAS = [0.0009 * (0.0483 / 0.0009) ** (i / 7) for i in range(8)]
GAINS = [math.sqrt(lam / 0.18) for lam in LAMBDAS]  # gain ∝ √λ, as in CompressAI's VBR tables
PAD_MULTIPLE = 64  # g_a (16×) then h_a (4×): inputs are padded to a multiple of 64 and cropped back


@dataclass
class CompressorConfig:
    N: int = 64  # channels inside the transforms
    M: int = 96  # channels of the latent y (the visual prompt has M channels at 1/16 resolution)
    frequency_branch: bool = True
    wavelet: str = "haar"
    model_id: str = "hf-compressor"  # name in the bitstream registry


class HFAnalysis(nn.Module):
    """g_a with a frequency branch: the image path and the wavelet-detail path meet at 1/4 resolution."""

    def __init__(self, N: int, M: int, wavelet: str = "haar"):
        super().__init__()
        self.wavelet = wavelet
        self.spatial = nn.Sequential(conv(3, N), GDN(N), conv(N, N), GDN(N))  # → H/4
        self.freq = nn.Sequential(conv(9, N, kernel_size=3, stride=1), GDN(N), conv(N, N))  # H/2 → H/4
        self.fuse = nn.Conv2d(2 * N, N, kernel_size=1)
        self.tail = nn.Sequential(GDN(N), conv(N, N), GDN(N), conv(N, M))  # → H/16

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.spatial(x)
        f = self.freq(frequency.high_bands(x, self.wavelet) * 4.0)  # detail bands are small; ×4 ≈ unit scale
        return self.tail(self.fuse(torch.cat([s, f], dim=1)))


class HFCompressor(MeanScaleHyperpriorVbr):
    """High-frequency-sensitive, variable-rate mean-scale hyperprior. See the module docstring."""

    def __init__(self, config: CompressorConfig | None = None):
        self.config = config or CompressorConfig()
        c = self.config
        super().__init__(N=c.N, M=c.M)
        if c.frequency_branch:
            self.g_a = HFAnalysis(c.N, c.M, c.wavelet)
        self.lmbda = list(LAMBDAS)
        self.levels = len(LAMBDAS)
        with torch.no_grad():
            self.Gain.copy_(torch.tensor(GAINS))

    # -- the visual prompt: CompressAI returns x̂ only; we keep g_s's input, ŷ, for the length of one call.
    @contextlib.contextmanager
    def _capture_prompt(self):
        box = {}
        handle = self.g_s.register_forward_pre_hook(lambda module, args: box.__setitem__("y_hat", args[0]))
        try:
            yield box
        finally:
            handle.remove()

    # -- rate control -----------------------------------------------------------------------------
    @staticmethod
    def _interp(table: list[float], rate: float) -> float:
        if not 0.0 <= float(rate) <= 1.0 or math.isnan(float(rate)):
            raise ValueError(f"rate must be in [0, 1], got {rate}")
        pos = float(rate) * (len(table) - 1)
        i = min(int(pos), len(table) - 2)
        t = pos - i
        return math.exp((1 - t) * math.log(table[i]) + t * math.log(table[i + 1]))

    def gain(self, rate: float) -> torch.Tensor:
        return torch.tensor(self._interp(GAINS, rate), device=self.Gain.device)

    @staticmethod
    def lmbda_at(rate: float) -> float:
        return HFCompressor._interp(LAMBDAS, rate)

    def _get_scale(self, stage, s, inputscale):
        # CompressAI ignores `inputscale` while training; we train on continuous rates, so honour it.
        if isinstance(inputscale, torch.Tensor) or inputscale != 0:
            return torch.as_tensor(inputscale, dtype=torch.float32, device=self.Gain.device)
        return super()._get_scale(stage, s, inputscale)

    # -- training-time forward ---------------------------------------------------------------------
    def forward_rate(self, x: torch.Tensor, rate: float) -> dict:
        """Differentiable pass (noise/STE quantisation) at ``rate``: x_hat, likelihoods, y_hat."""
        with self._capture_prompt() as box:
            out = super().forward(x, stage=2, inputscale=self.gain(rate))
        out["y_hat"] = box["y_hat"]
        return out

    # -- real coding -------------------------------------------------------------------------------
    @torch.no_grad()
    def compress_tensor(self, x: torch.Tensor, rate: float) -> tuple[list[bytes], tuple[int, int]]:
        """1×3×H×W in [0,1] → (streams [y, z], original size). Pads to a multiple of 64 first."""
        if x.ndim != 4 or x.shape[0] != 1 or x.shape[1] != 3:
            raise ValueError(f"expected one RGB image 1×3×H×W, got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        rate = on_rate_grid(rate)  # the decoder only knows the rate as the header stores it
        xp = pad(x.to(self.Gain.device))
        out = super().compress(xp, stage=2, inputscale=self.gain(rate))
        return [out["strings"][0][0], out["strings"][1][0]], (h, w)

    @torch.no_grad()
    def decompress_tensor(self, streams: list[bytes], size: tuple[int, int], rate: float,
                          crop: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """(streams, original size, rate) → (x̂ 1×3×H×W in [0,1], ŷ the visual prompt 1×M×H'/16×W'/16).
        ``crop=False`` keeps x̂ at the padded size H'×W' (a multiple of 64), the grid ŷ belongs to."""
        h, w = size
        rate = on_rate_grid(rate)
        ph, pw = _padded(h), _padded(w)
        z_shape = (ph // PAD_MULTIPLE, pw // PAD_MULTIPLE)
        with self._capture_prompt() as box:
            out = super().decompress([[streams[0]], [streams[1]]], z_shape, stage=2, inputscale=self.gain(rate))
        x_hat = out["x_hat"][..., :h, :w] if crop else out["x_hat"]
        return x_hat.clamp(0, 1), box["y_hat"]

    def compress(self, image, rate: float = 0.5) -> bytes:
        """Any image (path, array, PIL, tensor 1×3×H×W in [0,1]) → ``.fsd`` bytes."""
        from .. import bitstream, data

        x = image if isinstance(image, torch.Tensor) and image.ndim == 4 else data.to_tensor(data.load_image(image))
        streams, (h, w) = self.compress_tensor(x, rate)
        return bitstream.pack(bitstream.Packet(self.config.model_id, h, w, float(rate), tuple(streams)))

    def decompress(self, blob: bytes) -> torch.Tensor:
        """``.fsd`` bytes → 1×3×H×W image in [0,1]. Bytes made by another model raise BitstreamError."""
        p = self.unpack(blob)
        return self.decompress_tensor(list(p.streams), (p.height, p.width), p.rate)[0]

    def unpack(self, blob: bytes, model_id: str | None = None):
        """The ``.fsd`` packet of ``blob``, checked: made by ``model_id`` (default: this compressor's) and
        holding this compressor's two streams (y, z). Anything else raises BitstreamError."""
        from .. import bitstream

        model_id = model_id or self.config.model_id
        p = bitstream.unpack(blob)
        if p.model != model_id:
            raise bitstream.BitstreamError(f"this file was made by model {p.model!r}; this decoder is {model_id!r}")
        if len(p.streams) != 2:
            raise bitstream.BitstreamError(f"expected 2 streams (y, z), found {len(p.streams)}")
        return p

    # -- saving and loading (diffusers-style folder: config.json + model.safetensors) ---------------
    def save_pretrained(self, folder: str | Path, extra: dict | None = None) -> Path:
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.update(force=True)  # the CDF tables travel with the weights: decoding never recomputes them
        state = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        save_file(state, str(folder / "model.safetensors"))
        meta = {"config": asdict(self.config), "lambdas": LAMBDAS, "gains": GAINS, **(extra or {})}
        (folder / "config.json").write_text(json.dumps(meta, indent=1))
        return folder

    @classmethod
    def from_pretrained(cls, folder: str | Path, device=None) -> "HFCompressor":
        from safetensors.torch import load_file

        folder = Path(folder)
        if not (folder / "model.safetensors").exists():
            raise FileNotFoundError(
                f"no compressor weights in {folder}; train one with `fasdiff-lite train compressor` "
                "or use the shipped ones (assets/compressor/...)"
            )
        meta = json.loads((folder / "config.json").read_text())
        model = cls(CompressorConfig(**meta["config"]))
        model.load_state_dict(load_file(str(folder / "model.safetensors")))
        return model.to(device or "cpu").eval()


def on_rate_grid(rate: float) -> float:
    """The rate as the ``.fsd`` header stores it (16 bits). Encoder and decoder must derive the quantisation
    gain from the *same* number: a gain that differs in the 5th digit can move a scale into the next
    entropy table and desynchronise the range decoder."""
    from .. import bitstream

    return bitstream.quantize_rate(rate) / 65535


def _padded(n: int) -> int:
    return -(-n // PAD_MULTIPLE) * PAD_MULTIPLE


def pad(x: torch.Tensor) -> torch.Tensor:
    """Pad H and W up to a multiple of 64 by reflecting the border (cropped back after decoding)."""
    h, w = x.shape[-2:]
    ph, pw = _padded(h) - h, _padded(w) - w
    if ph == 0 and pw == 0:
        return x
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode)


def likelihood_bits(likelihoods) -> torch.Tensor:
    """−Σ log₂ p over every latent element: the bits an ideal entropy coder spends (float64, differentiable).

    ``likelihoods``: a tensor of probabilities, or a dict/list of them (CompressAI's ``out["likelihoods"]``).
    """
    parts = list(likelihoods.values()) if isinstance(likelihoods, dict) else (
        list(likelihoods) if isinstance(likelihoods, (list, tuple)) else [likelihoods])
    if not parts:
        raise ValueError("no likelihoods given")
    total = torch.zeros((), dtype=torch.float64)
    for p in parts:
        p = torch.as_tensor(p)
        q = p.detach()
        if q.numel() and (torch.isnan(q).any() or (q <= 0).any() or (q > 1 + 1e-6).any()):
            raise ValueError("likelihoods must be probabilities in (0, 1]")
        total = total.to(p.device) - torch.log2(p.double()).sum()
    return total


def hf_loss(x: torch.Tensor, x_hat: torch.Tensor, wavelet: str = "haar", levels: int = 2) -> torch.Tensor:
    """Mean squared error on the wavelet detail bands only (the high-frequency term of the objective)."""
    a = frequency.dwt2(x, wavelet, levels)[1:]
    b = frequency.dwt2(x_hat, wavelet, levels)[1:]
    terms = [F.mse_loss(p, q) for da, db in zip(a, b) for p, q in zip(da, db)]
    return torch.stack(terms).mean()


def rd_loss(x: torch.Tensor, out: dict, rate: float, hf_weight: float = 1.0) -> dict:
    """The training objective: bpp + λ(rate)·255²·(MSE + hf_weight·MSE on detail bands).

    - **rate**: −log₂ likelihoods of y and z, per pixel: what the range coder will spend;
    - **distortion**: pixel MSE, scaled like CompressAI's λ tables;
    - **high-frequency term**: extra weight on the detail bands, so edges and texture are not the first
      thing the encoder gives up (a pixel MSE alone blurs faces at low rates).
    """
    n, _, h, w = x.shape
    bits = sum(torch.log(l).sum() for l in out["likelihoods"].values()) / (-math.log(2))
    bpp = bits / (n * h * w)
    mse = F.mse_loss(out["x_hat"], x)
    hf = hf_loss(x, out["x_hat"]) if hf_weight > 0 else torch.zeros((), device=x.device)
    lam = HFCompressor.lmbda_at(rate)
    loss = bpp + lam * 255**2 * (mse + hf_weight * hf)
    return {"loss": loss, "bpp": bpp, "mse": mse, "hf": hf}
