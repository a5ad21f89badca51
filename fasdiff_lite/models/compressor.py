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

import copy
import json
import math
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

with warnings.catch_warnings():  # compressai calls the deprecated torch.jit.script at import time
    warnings.simplefilter("ignore", FutureWarning)
    from compressai.layers import GDN
    from compressai.models.utils import conv, deconv
    from compressai.models.vbr import MeanScaleHyperpriorVbr

from .. import bitstream, data, frequency, rans, registry
from .integer_scales import IntegerScales, gain_is_safe
from ..registry import check_rate

# The rate levels: λ (weight of the distortion, MSE on [0,1] × 255²) from ``lambda_min`` (rate 0) to
# ``lambda_max`` (rate 1), log-spaced, and the quantisation gain ∝ √λ (as in CompressAI's VBR tables).
# The range is wide: 64-px faces and a diffusion decoder live at low rates (rate 0 ≈ 0.1 bpp), and
# rate 1 must still be a high-quality fidelity codec (≥ 32 dB).
PAD_MULTIPLE = 64  # g_a (16×) then h_a (4×): inputs are padded to a multiple of 64 and cropped back
MAX_PIXELS = 1024 * 1024  # the largest image the learned codecs code or decode (at 1 MP a decode takes ~3 GB)


def rate_tables(lambda_min: float, lambda_max: float, levels: int = 8) -> tuple[list[float], list[float]]:
    """(λ per level, gain per level): log-spaced λ from ``lambda_min`` to ``lambda_max``, gain = √(λ/0.18)."""
    lambdas = [lambda_min * (lambda_max / lambda_min) ** (i / (levels - 1)) for i in range(levels)]
    return lambdas, [math.sqrt(lam / 0.18) for lam in lambdas]


@dataclass
class CompressorConfig:
    N: int = 112  # channels inside the transforms
    M: int = 160  # channels of the latent y (the visual prompt has M channels at 1/16 resolution)
    hyper_kernel: int = 3  # kernel of the hyperprior's strided convs (CompressAI: 5; at 64 px z is 1×1, so 3 does)
    frequency_branch: bool = True
    wavelet: str = "haar"
    model_id: str = "hf-compressor"  # name in the bitstream registry
    lambda_min: float = 0.00012  # λ at rate 0
    lambda_max: float = 0.13  # λ at rate 1
    levels: int = 8  # trained rate levels; rates in between interpolate log-linearly

    @property
    def lambdas(self) -> list[float]:
        return rate_tables(self.lambda_min, self.lambda_max, self.levels)[0]

    @property
    def gains(self) -> list[float]:
        return rate_tables(self.lambda_min, self.lambda_max, self.levels)[1]


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
        if c.hyper_kernel != 5:  # CompressAI's mean-scale hyper transforms, with smaller strided kernels
            k = c.hyper_kernel
            self.h_a = nn.Sequential(
                conv(c.M, c.N, stride=1, kernel_size=3), nn.LeakyReLU(inplace=True),
                conv(c.N, c.N, kernel_size=k), nn.LeakyReLU(inplace=True), conv(c.N, c.N, kernel_size=k),
            )
            self.h_s = nn.Sequential(
                deconv(c.N, c.M, kernel_size=k), nn.LeakyReLU(inplace=True),
                deconv(c.M, c.M * 3 // 2, kernel_size=k), nn.LeakyReLU(inplace=True),
                conv(c.M * 3 // 2, c.M * 2, stride=1, kernel_size=3),
            )
        self.lmbda = c.lambdas
        self.levels = c.levels
        # the scales' integer twin (models/integer_scales.py): built by update() / save_pretrained, loaded with the
        # weights; with it the compressor writes version-3 files, whose entropy parameters every machine computes
        # alike. A compressor without it (an old folder) writes version 2.
        self.int_scales: IntegerScales | None = None
        self.Gain = nn.Parameter(torch.tensor(c.gains), requires_grad=False)  # the table, saved with the weights

    # -- rate control -----------------------------------------------------------------------------
    @staticmethod
    def _interp(table: list[float], rate: float) -> float:
        pos = check_rate(rate) * (len(table) - 1)
        i = min(int(pos), len(table) - 2)
        t = pos - i
        return math.exp((1 - t) * math.log(table[i]) + t * math.log(table[i + 1]))

    def gain(self, rate: float) -> torch.Tensor:
        return torch.tensor(self._interp(self.config.gains, rate), device=self.Gain.device)

    def lmbda_at(self, rate: float) -> float:
        return self._interp(self.config.lambdas, rate)

    def _get_scale(self, stage, s, inputscale):
        # CompressAI ignores `inputscale` while training; we train on continuous rates, so honour it.
        if isinstance(inputscale, torch.Tensor) or inputscale != 0:
            return torch.as_tensor(inputscale, dtype=torch.float32, device=self.Gain.device)
        return super()._get_scale(stage, s, inputscale)

    # -- training-time forward ---------------------------------------------------------------------
    def forward_rate(self, x: torch.Tensor, rate: float) -> dict:
        """Differentiable pass (STE quantisation) at ``rate``: x_hat, likelihoods, and y_hat (the visual prompt,
        g_s's input, taken on the way through this one call)."""
        seen = []
        hook = self.g_s.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
        try:
            out = super().forward(x, stage=2, inputscale=self.gain(rate))
        finally:
            hook.remove()
        out["y_hat"] = seen[-1]
        return out

    # -- real coding: one rANS stream holds z, then y (CompressAI's entropy models and coder) ----------
    def _tables(self, em) -> tuple[list, list, list]:
        """An entropy model's coding tables (CDFs, their lengths, offsets) as the rANS coders take them."""
        cdf, lengths, offsets = self._tables_tensors(em)
        return cdf.tolist(), lengths.tolist(), offsets.tolist()

    def _least_bits(self, em, indexes: torch.Tensor) -> float:
        """The fewest bits any stream needs for symbols coded with these table ``indexes``: each costs at least
        −log₂ of its table's largest probability. Lets the decoder refuse a lying header before doing any work."""
        cost = self._coding(em)[1]
        return float(cost[indexes.reshape(-1).long().to(cost.device)].sum())

    def _prepared(self, em) -> "rans.Tables":
        """:meth:`_tables` as :mod:`fasdiff_lite.rans` takes them (cached, see :meth:`_coding`)."""
        return self._coding(em)[0]

    def _coding(self, em) -> tuple["rans.Tables", torch.Tensor]:
        """An entropy model's coder tables and each table's least cost in bits, computed once and cached until the
        tables change (any in-place write, e.g. ``update`` or ``load_state_dict``, bumps a tensor's version)."""
        ts = (em._quantized_cdf, em._cdf_length, em._offset)
        key = tuple((id(t), t.data_ptr(), t._version) for t in ts)
        cache = self.__dict__.setdefault("_rans_tables", {})
        if cache.get(id(em), (None,))[0] != key:
            tables = rans.prepare(*self._tables(em))  # first: a clear error when there are no tables yet
            cdf, lengths = em._quantized_cdf, em._cdf_length.reshape(-1)
            steps = (cdf[:, 1:] - cdf[:, :-1]).float()
            valid = torch.arange(steps.shape[1], device=cdf.device)[None] < (lengths[:, None] - 1)
            p_max = torch.where(valid, steps, torch.zeros_like(steps)).amax(dim=1) / float(1 << 16)
            cache[id(em)] = (key, tables, -torch.log2(p_max.clamp_min(1e-12)))
        return cache[id(em)][1:]

    def _z_indexes_medians(self, shape) -> tuple[torch.Tensor, torch.Tensor]:
        eb = self.entropy_bottleneck
        medians = eb._get_medians().detach().reshape(1, -1, 1, 1).expand(shape)
        return eb._build_indexes(shape), medians

    def _y_params(self, z_hat: torch.Tensor, gain: torch.Tensor, z_sym: torch.Tensor | None = None,
                  rate: float | None = None):
        """(table indexes, scales, means) of y from ẑ. With ``z_sym`` (the integer symbols of ẑ) and ``rate`` (on the
        header's grid) the indexes come from the integer path (version 3: the same on every machine), else from
        the float scales (versions 1–2)."""
        scales, means = self.h_s(z_hat).chunk(2, 1)
        if z_sym is None:
            return self.gaussian_conditional.build_indexes(scales * gain), scales, means
        if self.int_scales is None:
            raise bitstream.BitstreamError("this is a version-3 file (deterministic entropy parameters) and this "
                                           "compressor has no integer scales: call update(force=True), or load it "
                                           "from a folder saved since version 3 (its weights hold them)")
        idx = self.int_scales.indexes(z_sym, self._interp(self.config.gains, rate)).to(scales.device)
        return idx, scales, means

    # -- deterministic entropy parameters (version 3) ------------------------------------------------
    @torch.no_grad()
    def build_integer_scales(self, samples: int = 64, size: int = 4, seed: int = 0) -> IntegerScales:
        """Make :attr:`int_scales` from h_s: each layer's fixed-point range calibrated on ``samples`` random ẑ of
        ``size``×``size`` positions drawn from the entropy bottleneck's own coding tables (no data needed; the
        tables must exist: :meth:`update`)."""
        eb = self.entropy_bottleneck
        cdf, lengths, offsets = (t.cpu() for t in self._tables_tensors(eb))
        g = torch.Generator().manual_seed(seed)
        u = torch.randint(0, 1 << 16, (cdf.shape[0], samples * size * size), generator=g)
        sym = torch.stack([torch.searchsorted(cdf[c, : lengths[c]].contiguous(), u[c].contiguous(), right=True) - 1
                           for c in range(cdf.shape[0])])  # inverse CDF: each channel's own distribution
        sym = torch.minimum(sym.clamp_min(0), (lengths - 2).reshape(-1, 1)) + offsets.reshape(-1, 1)
        z_sym = sym.reshape(-1, samples, size, size).permute(1, 0, 2, 3)
        medians = eb._get_medians().detach().reshape(-1).cpu()
        z_hat = z_sym.double() + medians.double().reshape(1, -1, 1, 1)
        self.int_scales = IntegerScales.from_float(self.h_s, medians, self.gaussian_conditional.scale_table, z_hat)
        return self.int_scales

    def _tables_tensors(self, em) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """An entropy model's coding tables as tensors: CDFs (one row per table), their lengths, offsets."""
        if em._quantized_cdf.numel() == 0 or em._cdf_length.numel() == 0 or em._offset.numel() == 0:
            raise RuntimeError("this compressor has no entropy-coding tables yet: call model.update(force=True) "
                               "after training (save_pretrained does it; from_pretrained loads them)")
        return em._quantized_cdf, em._cdf_length.reshape(-1).long(), em._offset.reshape(-1).long()

    def update(self, scale_table=None, force: bool = False, scale=None) -> bool:
        """CompressAI's ``update`` (the CDF tables from the entropy models), then the integer scales from h_s: both
        describe the weights as they are now (the CDF tables and the scales' fixed-point fractions travel in the
        weights file)."""
        updated = super().update(scale_table=scale_table, force=force, scale=scale)
        if updated or force or self.int_scales is None:
            self.build_integer_scales()
        return updated

    def safe_rate(self, rate: float) -> float:
        """The rate on the header's 16-bit grid nearest ``rate`` whose gain·2^GAIN_BITS lies safely away from a
        rounding boundary (``integer_scales.gain_is_safe``), so that every machine's libm derives the same integer
        gain from it: ``rate`` itself but for about one rate in 10⁵, which moves by 1/65535."""
        q = bitstream.quantize_rate(check_rate(rate))
        for dq in sorted(range(-8, 9), key=abs):
            if 0 <= q + dq <= 65535 and gain_is_safe(self._interp(self.config.gains, (q + dq) / 65535)):
                return (q + dq) / 65535
        raise RuntimeError(f"no rate near {rate} has a safe gain")  # cannot happen: boundaries are 2^20 apart

    def _dequantize_y(self, q: torch.Tensor, scales: torch.Tensor, means: torch.Tensor, gain: torch.Tensor) -> torch.Tensor:
        """ŷ from the decoded integers: CompressAI's VBR reconstruction with its learned offsets (Kamisli et al.)."""
        q_abs, signs = q.abs(), torch.sign(q)
        stdev = self.gaussian_conditional.lower_bound_scale(scales * gain)
        offsets = -self.QuantABCD(torch.stack((stdev, gain.expand_as(stdev)), dim=4)).squeeze(4)
        offsets[q_abs < 1e-4] = 0  # zeros stay zeros
        return signs * (q_abs + offsets) / gain + means

    @torch.no_grad()
    def compress_tensor(self, x: torch.Tensor, rate: float, context: bytes = b"",
                        deterministic: bool | None = None) -> tuple[list[bytes], tuple[int, int]]:
        """1×3×H×W in [0,1] → ([one rANS stream], original size). Pads to a multiple of 64 first.

        z and y share one stream of the byte-wise coder in :mod:`fasdiff_lite.rans` (CompressAI's tables, a
        4-byte flush): a whole face at the lowest rate is about 45 bytes, so the coder's overhead matters. Its
        final state carries a check of the symbols and of ``context`` (the file's header). ``deterministic``: the
        tables chosen by the integer scales (version 3; default: whenever this compressor has them)."""
        z_sym, z_idx, y_sym, y_idx = self.symbols(x, rate, deterministic)
        enc = rans.RansEncoder()
        enc.encode_with_indexes(z_sym, z_idx, self._prepared(self.entropy_bottleneck))
        enc.encode_with_indexes(y_sym, y_idx, self._prepared(self.gaussian_conditional))
        return [enc.flush(context)], tuple(x.shape[-2:])

    def symbols(self, x: torch.Tensor, rate: float,
                deterministic: bool | None = None) -> tuple[list[int], list[int], list[int], list[int]]:
        """The quantised symbols and table indexes of z and y, as the coder takes them (y's indexes from the integer
        scales when ``deterministic``; default: whenever this compressor has them)."""
        if deterministic is None:
            deterministic = self.int_scales is not None
        if x.ndim != 4 or x.shape[0] != 1 or x.shape[1] != 3:
            raise ValueError(f"expected one RGB image 1×3×H×W, got {tuple(x.shape)}")
        check_size(*x.shape[-2:], ValueError)
        gain = self.gain(on_rate_grid(rate))  # the decoder only knows the rate as the header stores it
        y = self.g_a(pad(x.to(self.Gain.device)))
        z = self.h_a(y)
        eb, gc = self.entropy_bottleneck, self.gaussian_conditional
        z_idx, z_med = self._z_indexes_medians(z.shape)
        z_sym = eb.quantize(z, "symbols", z_med)
        y_idx, _, means = self._y_params(eb.dequantize(z_sym, z_med), gain, *(
            (z_sym, on_rate_grid(rate)) if deterministic else ()))
        y_sym = gc.quantize(y * gain, "symbols", means * gain)
        return (z_sym.reshape(-1).tolist(), z_idx.reshape(-1).tolist(), y_sym.reshape(-1).tolist(),
                y_idx.reshape(-1).int().tolist())

    @torch.no_grad()
    def decompress_tensor(self, streams: list[bytes], size: tuple[int, int], rate: float,
                          crop: bool = True, context: bytes | None = b"",
                          deterministic: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """([stream], original size, rate) → (x̂ 1×3×H×W in [0,1], ŷ the visual prompt 1×M×H'/16×W'/16).
        ``crop=False`` keeps x̂ at the padded size H'×W' (a multiple of 64), the grid ŷ belongs to. ``context``
        must be what the encoder was given (the file's header); ``None`` reads a version-1 stream (CompressAI's
        coder; no check but its end state). ``deterministic``: y's tables from the integer scales (a version-3
        file; default: whenever this compressor has them). A stream that does not decode raises BitstreamError; no
        stream is read past its end."""
        if deterministic is None:
            deterministic = self.int_scales is not None and context is not None
        if len(streams) != 1:
            raise ValueError(f"expected 1 stream, got {len(streams)}")
        h, w = size
        check_size(h, w, bitstream.BitstreamError)
        gain = self.gain(on_rate_grid(rate))
        dev = self.Gain.device
        z_shape = (1, self.config.N, _padded(h) // PAD_MULTIPLE, _padded(w) // PAD_MULTIPLE)
        eb, gc = self.entropy_bottleneck, self.gaussian_conditional
        z_idx, z_med = self._z_indexes_medians(z_shape)
        try:  # version 1 (context None): CompressAI's coder, read by a bounds-checked port of its decoder
            dec = rans.Rans64Decoder(streams[0]) if context is None else rans.RansDecoder(streams[0])
        except rans.RansError as e:
            raise bitstream.BitstreamError(str(e)) from None
        stream_bits = 8 * len(streams[0]) + 64  # + the coder state's bits (64 for CompressAI's, 32 for ours)
        need = self._least_bits(eb, z_idx)
        if need > stream_bits:  # refused before any work: a header that claims more than the stream can hold
            raise bitstream.BitstreamError(f"the header says {h}×{w} pixels, but a stream of {len(streams[0])} bytes "
                                           f"cannot hold that many symbols (it needs ≥ {need / 8:.0f} bytes)")
        try:
            z_sym = dec.decode_stream(z_idx.reshape(-1).tolist(), self._prepared(eb))
            z_hat = eb.dequantize(torch.tensor(z_sym, device=dev).reshape(z_shape), z_med.to(dev))
            y_idx, scales, means = self._y_params(z_hat, gain, *(
                (torch.tensor(z_sym).reshape(z_shape), on_rate_grid(rate)) if deterministic else ()))
            if need + self._least_bits(gc, y_idx) > stream_bits:
                raise rans.RansError("corrupted or truncated stream (its symbols need more bytes than it holds)")
            q = dec.decode_stream(y_idx.reshape(-1).int().tolist(), self._prepared(gc))
            dec.finish(context or b"")
        except rans.RansError as e:
            raise bitstream.BitstreamError(str(e)) from None
        q = torch.tensor(q, device=dev, dtype=torch.float32)
        y_hat = self._dequantize_y(q.reshape(y_idx.shape), scales, means, gain)
        x_hat = self.g_s(y_hat)
        return (x_hat[..., :h, :w] if crop else x_hat).nan_to_num(0.0).clamp(0, 1), y_hat

    def decode_packet(self, p, crop: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """A checked :class:`~fasdiff_lite.bitstream.Packet` → (x̂, ŷ): :meth:`decompress_tensor` with the
        packet's size, rate and header (versions 2–3; 3: the integer scales choose the tables) or CompressAI's
        coder (version 1)."""
        context = bitstream.header_of(p) if p.version >= 2 else None
        return self.decompress_tensor(list(p.streams), (p.height, p.width), p.rate, crop=crop, context=context,
                                      deterministic=p.version >= 3)

    def compress(self, image, rate: float = 0.5, model_id: str | None = None) -> bytes:
        """Any image (path, array, PIL, tensor 1×3×H×W in [0,1]) → ``.fsd`` bytes whose header names ``model_id``
        (default: this compressor; a FaSDiff codec names itself: its files are its compressor's streams)."""
        x = image if isinstance(image, torch.Tensor) and image.ndim == 4 else data.to_tensor(data.load_image(image))
        model_id = model_id or self.config.model_id
        h, w = x.shape[-2:]
        version = 3 if self.int_scales is not None else 2  # 3: the same tables on every machine
        rate = self.safe_rate(rate) if version == 3 else float(rate)
        head = bitstream.header(model_id, h, w, rate, version)  # checked first: a bad id fails before any work
        streams, _ = self.compress_tensor(x, rate, context=head, deterministic=version == 3)
        return bitstream.pack(bitstream.Packet(model_id, h, w, rate, tuple(streams), version))

    def unpack(self, blob: bytes, model_id: str | None = None):
        """The ``.fsd`` packet of ``blob``, checked: made by ``model_id`` (default: this compressor's) and
        holding this compressor's one stream (z then y). Anything else raises BitstreamError."""
        model_id = model_id or self.config.model_id
        p = bitstream.unpack(blob)
        if p.model != model_id:
            raise bitstream.BitstreamError(f"this file was made by model {p.model!r}; this decoder is {model_id!r}")
        if len(p.streams) != 1:
            raise bitstream.BitstreamError(f"expected 1 stream (z then y), found {len(p.streams)}")
        return p

    def decompress(self, blob: bytes) -> torch.Tensor:
        """``.fsd`` bytes → 1×3×H×W image in [0,1]. Bytes made by another model raise BitstreamError."""
        p = self.unpack(blob)
        return self.decode_packet(p)[0]

    # -- where the bits go --------------------------------------------------------------------------
    @torch.no_grad()
    def bit_map(self, image, rate: float = 0.5) -> dict:
        """Where the bits go: the entropy model's cost of each latent position, −log₂ p summed over the channels.

        ``image``: anything :meth:`compress` takes. Returns ``{"y": array, "z": array, "y_bits": float,
        "z_bits": float, "size": (h, w)}``: ``y`` is the cost of ŷ per position (one per 16×16 pixels of the
        padded image), ``z`` that of the side information (one per 64×64 pixels), both in bits and cropped to the
        image's own cells; the totals are what the range coder spends, give or take its few bytes of overhead
        (the same numbers as ``evaluation.run.estimate_bits``). Eval mode, real rounding: the bits of the real file.
        """
        x = image if isinstance(image, torch.Tensor) and image.ndim == 4 else data.to_tensor(data.load_image(image))
        h, w = x.shape[-2:]
        check_size(h, w)
        self.eval()
        out = self.forward_rate(pad(x.to(self.Gain.device)), on_rate_grid(rate))
        maps = {k: -torch.log2(v.double()).sum(dim=1)[0].cpu().numpy() for k, v in out["likelihoods"].items()}
        y = maps["y"][: -(-h // 16), : -(-w // 16)]
        z = maps["z"][: -(-h // 64), : -(-w // 64)]
        return {"y": y, "z": z, "y_bits": float(maps["y"].sum()), "z_bits": float(maps["z"].sum()), "size": (h, w)}

    # -- saving and loading (diffusers-style folder: config.json + model.safetensors) ---------------
    def save_pretrained(self, folder: str | Path, extra: dict | None = None, dtype: torch.dtype | None = torch.float16) -> Path:
        """``config.json`` + ``model.safetensors``. Parameters are stored as ``dtype`` (fp16 by default: half
        the size; loading casts back). They are rounded to that precision *before* the entropy coder's CDF
        tables are rebuilt, so the tables saved beside them describe exactly the weights that load (this model
        itself is left as it is: files it made before saving still decode with it)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        params = {n for n, _ in self.named_parameters()}
        model = copy.deepcopy(self).cpu()  # round a copy: this model keeps decoding what it encoded
        if dtype is not None:
            with torch.no_grad():
                for p in model.parameters():
                    p.copy_(p.to(dtype).to(p.dtype))
        model.update(force=True)  # the CDF tables travel with the weights: decoding never recomputes them
        state = {k: (v.to(dtype) if dtype is not None and k in params else v).detach().contiguous()
                 for k, v in model.state_dict().items()}
        save_file(state, str(folder / "model.safetensors"))
        meta = {"config": asdict(self.config), "lambdas": self.config.lambdas, "gains": self.config.gains, **(extra or {})}
        (folder / "config.json").write_text(json.dumps(meta, indent=1))
        return folder

    @classmethod
    def from_pretrained(cls, folder: str | Path, device=None) -> "HFCompressor":
        folder = Path(folder)
        if not (folder / "model.safetensors").exists():
            raise FileNotFoundError(
                f"no compressor weights in {folder}; train one with `fasdiff-lite train compressor` "
                "or use the shipped ones (fasdiff_lite/assets/compressor/...)"
            )
        meta = json.loads((folder / "config.json").read_text())
        model = cls(CompressorConfig(**meta["config"]))
        state = load_file(str(folder / "model.safetensors"))
        fracs = state.pop("int_scales.fracs", None)  # saved since version-3 files (a few integers)
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
        if fracs is not None:  # the integer scales, derived exactly from the float weights just loaded
            model.int_scales = IntegerScales.from_float(model.h_s, model.entropy_bottleneck._get_medians().detach(),
                                                        model.gaussian_conditional.scale_table, fracs=fracs)
        return model.to(device or "cpu").eval()

    @classmethod
    def shipped(cls, name: str, device=None) -> "HFCompressor":
        """A shipped compressor by name (``registry.names("compressor")``); it remembers the name, so a codec saved
        on it names it instead of copying it (``FaSDiffCodec.save_pretrained``)."""
        if name not in registry.names("compressor"):
            raise ValueError(f"unknown compressor {name!r}; shipped: {', '.join(registry.names('compressor'))}")
        model = cls.from_pretrained(registry.folder(name), device)
        model.zoo_name = name
        return model


def check_size(h: int, w: int, error: type[Exception] = ValueError) -> None:
    """Refuse images of more than :data:`MAX_PIXELS` (``h·w``), to code or to decode, with ``error``."""
    if int(h) * int(w) > MAX_PIXELS:
        raise error(f"{h}×{w} is {int(h) * int(w) / 1e6:.1f} MP; the learned codecs take at most "
                    f"{MAX_PIXELS / 1e6:.1f} MP (they were trained on 64-px faces): resize or crop the image first")


def on_rate_grid(rate: float) -> float:
    """The rate as the ``.fsd`` header stores it (16 bits). Encoder and decoder must derive the quantisation
    gain from the *same* number: a gain that differs in the 5th digit can move a scale into the next
    entropy table and desynchronise the range decoder."""
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


def rd_loss(x: torch.Tensor, out: dict, lam: float, hf_weight: float = 1.0) -> dict:
    """The training objective: bpp + λ·255²·(MSE + hf_weight·MSE on detail bands), λ = ``model.lmbda_at(rate)``.

    - **rate**: −log₂ likelihoods of y and z, per pixel: what the range coder will spend;
    - **distortion**: pixel MSE, scaled like CompressAI's λ tables;
    - **high-frequency term**: extra weight on the detail bands, so edges and texture are not the first
      thing the encoder gives up (a pixel MSE alone blurs faces at low rates).
    """
    n, _, h, w = x.shape
    bpp = likelihood_bits(out["likelihoods"]).float() / (n * h * w)
    mse = F.mse_loss(out["x_hat"], x)
    hf = hf_loss(x, out["x_hat"]) if hf_weight > 0 else torch.zeros((), device=x.device)
    loss = bpp + lam * 255**2 * (mse + hf_weight * hf)
    return {"loss": loss, "bpp": bpp, "mse": mse, "hf": hf}
