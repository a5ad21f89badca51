"""Deterministic entropy parameters: the hyper-synthesis's scales, and the table each symbol is coded with, in
integer arithmetic, so that a file made on one machine decodes on every other.

Why. A mean-scale hyperprior codes each latent symbol with one of 64 Gaussian tables, chosen by comparing its
predicted scale σ (the hyper-synthesis h_s(ẑ), times the rate's gain) with 63 fixed thresholds. The decoder
recomputes σ from ẑ with its *own* floating-point arithmetic. CPU kernels, thread counts, GPU convolution algorithms
and TF32 all round differently in the last bits, and a σ that lies within those bits of a threshold picks another
table on the other machine: from that symbol on the range decoder reads garbage (CompressAI's users meet it:
InterDigitalInc/CompressAI#279, #309, #320). Measured on the shipped hf-compressor in session 12: with h_s's scales
perturbed by a relative 10⁻⁶, 8 of 600 files would pick another table somewhere; at 10⁻⁵, 56 of 600.

What. Ballé, Johnston & Minnen, *Integer networks for data compression with latent-variable models* (ICLR 2019):
compute the entropy model's parameters with integers only, so every machine gets the same bits. Here::

    ẑ = z_sym + median          input in fixed point:  a₀ = z_sym·2^f₀ + round(median·2^f₀)
    layer l (conv or deconv)    acc = Σ W_int·a + B_int          exact int64 sums: any order, any machine
                                W_int = round(W·2^g_l), B_int = round(b·2^(f_{l−1}+g_l))
                                a_l = round(acc / 2^(f_{l−1}+g_l−f_l))   an arithmetic shift (round half up)
                                LeakyReLU: a<0 → (a·1311) >> 17          (slope 0.01 ≈ 1311/2¹⁷)
    last layer                  the scale half of h_s's output only:  s_int ≈ σ·2^f_L
    table                       index = 63 − #{j < 63 : s_int·G ≤ ⌊t_j·2^(f_L+GAIN_BITS)⌋}
                                G = round(gain·2^GAIN_BITS), t_j CompressAI's scale table (stored float32: ×2^k
                                and ⌊·⌋ are exact)

Everything after ``round(·)`` of a stored float is integer. The fixed-point fractions f_l are chosen once, by
calibration, and travel in the weights file (a few integers); the integer weights are derived from the float weights
at load with exact operations only (:meth:`IntegerScales.from_float`), so every machine derives the same ones. The convolutions run as
exact integer matrix products on the CPU (im2col; float64 BLAS
while every partial sum is an integer below 2⁵³, which float64 holds exactly, else int64), whatever device the rest of the model is on: ẑ is tiny (one position per
64×64 pixels), so this costs little. The one float left is the gain, ``exp`` of an interpolated log (the header's
16-bit rate → gain): a libm may differ in its last bit, so the *encoder* checks that gain·2^GAIN_BITS is not within
10⁻⁶ of a rounding boundary and otherwise moves the rate one header step (``safe_rate``; 1/65535 of the slider).

The means (which only shift the symbols) and the scales used to reconstruct ŷ stay in floating point: a last-bit
difference there moves a decoded pixel by a fraction of a grey level, it never desynchronises the stream.

Cost: the integer σ differs slightly from the float one, so a symbol is sometimes coded with the neighbouring
table (a few bits per file); measured in the compressor card ("Deterministic entropy parameters").
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

WEIGHT_BITS = 15  # |W_int| < 2^15 in each layer
ACT_BITS = 14  # activations scaled so that calibration's largest |a| is about 2^14 (int64 has room for far more)
INPUT_BITS = 8  # ẑ in fixed point with 8 fractional bits
GAIN_BITS = 20  # the rate's gain in fixed point
LEAKY_NUM, LEAKY_SHIFT = 1311, 17  # LeakyReLU(0.01) ≈ ·1311 >> 17
LIMIT16, LIMIT32 = (1 << 15) - 1, (1 << 31) - 1
EXACT_FLOAT64 = 1 << 53  # integers below this are exact in float64
GAIN_MARGIN = 1e-6  # safe_rate: how far from a rounding boundary gain·2^GAIN_BITS must lie


def _round_div_pow2(x: torch.Tensor, shift: int) -> torch.Tensor:
    """round(x / 2^shift), half up, for int64 x (shift ≥ 0): an arithmetic shift, the same on every machine."""
    if shift <= 0:
        return x << (-shift)
    return (x + (1 << (shift - 1))) >> shift


def _int_conv2d(a: torch.Tensor, w2: torch.Tensor, w2_double: torch.Tensor, w_max: int, k: int,
                padding: tuple[int, int, int, int]) -> torch.Tensor:
    """A stride-1 convolution of int64 ``a`` (1×C×H×W) by the O×(C·k·k) int64 matrix ``w2`` (a k×k kernel
    reshaped; ``w2_double`` the same in float64, ``w_max`` its largest magnitude), zero ``padding`` (left, right, top, bottom), as an exact integer
    matrix product (im2col)."""
    a = F.pad(a, padding)
    h, wd = a.shape[-2] - k + 1, a.shape[-1] - k + 1
    # im2col by slicing (int64 stays int64): columns ordered as the kernel's reshape(O, C·k·k)
    cols = torch.stack([a[:, :, i:i + h, j:j + wd] for i in range(k) for j in range(k)], dim=2)  # 1×C×k²×h×w
    cols = cols.reshape(a.shape[1] * k * k, h * wd)
    # float64 holds every integer below 2^53 exactly, so a float64 product of integer matrices is exact, in any
    # summation order (BLAS blocking, threads, FMA), whenever every partial sum stays below 2^53: then the fast
    # BLAS product gives the same integers as int64 arithmetic. Otherwise (never for the shipped models) int64.
    bound = w_max * int(cols.abs().max()) * w2.shape[1] if cols.numel() else 0
    out = (w2_double @ cols.double()).long() if bound < EXACT_FLOAT64 else w2 @ cols
    return out.reshape(1, w2.shape[0], h, wd)


class IntegerScales(nn.Module):
    """The scale half of a hyper-synthesis ``h_s`` (a Sequential of Conv2d / ConvTranspose2d / LeakyReLU) in integer
    arithmetic, and the table index of each symbol: ``indexes(z_sym, gain)``. Build with :meth:`from_float`; its
    buffers (all int64) are saved with the model."""

    def __init__(self, h_s: nn.Sequential, n_tables: int):
        """Empty buffers shaped for ``h_s`` and ``n_tables`` Gaussian tables (fill them with :meth:`from_float`, or
        load them with the model's weights)."""
        super().__init__()
        layers = self.describe(h_s)
        self.n_scales = layers[-1]["shape"][0] // 2
        layers[-1]["shape"][0] = self.n_scales  # the last layer's scale half only
        self.layers = layers  # kind, stride, padding, output_padding, shape, leaky (after it)
        for i, d in enumerate(self.layers):
            # derived exactly from the float weights at load (not saved): |W_int| < 2^15, biases within 32 bits
            self.register_buffer(f"w{i}", torch.zeros(d["shape"], dtype=torch.int16), persistent=False)
            self.register_buffer(f"b{i}", torch.zeros(d["shape"][1 if d["kind"] == "deconv" else 0], dtype=torch.int32),
                                 persistent=False)
        # the one thing saved: each layer's fixed-point fraction f₀ … f_L, chosen once by calibration (a float
        # computation that another machine might round differently at a power of two; stored, it never reruns)
        self.register_buffer("fracs", torch.zeros(len(self.layers) + 1, dtype=torch.int64))
        self.register_buffer("wfracs", torch.zeros(len(self.layers), dtype=torch.int64), persistent=False)  # g_l
        self.register_buffer("medians", torch.zeros(layers[0]["shape"][0], dtype=torch.int32), persistent=False)
        self.register_buffer("thresholds", torch.zeros(n_tables - 1, dtype=torch.int64), persistent=False)

    # ------------------------------------------------------------------------------------------ building
    @staticmethod
    def describe(h_s: nn.Sequential) -> list[dict]:
        """The layers of ``h_s`` as this module runs them (refuses anything but convs, deconvs and LeakyReLU 0.01)."""
        out: list[dict] = []
        for m in h_s:
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                if m.kernel_size[0] != m.kernel_size[1] or m.dilation != (1, 1) or m.groups != 1:
                    raise ValueError(f"integer scales take square, undilated, ungrouped convolutions, not {m}")
                deconv = isinstance(m, nn.ConvTranspose2d)
                out.append({"kind": "deconv" if deconv else "conv", "stride": m.stride[0], "padding": m.padding[0],
                            "output_padding": m.output_padding[0] if deconv else 0, "leaky": False,
                            "shape": list(m.weight.shape)})
            elif isinstance(m, nn.LeakyReLU):
                if not out or abs(m.negative_slope - 0.01) > 1e-9:
                    raise ValueError(f"integer scales take LeakyReLU(0.01) after a convolution, not {m}")
                out[-1]["leaky"] = True
            else:
                raise ValueError(f"integer scales cannot run {type(m).__name__}")
        if out[-1]["kind"] != "conv" or out[-1]["stride"] != 1:
            raise ValueError("the hyper-synthesis must end with a stride-1 convolution")
        return out

    @classmethod
    @torch.no_grad()
    def from_float(cls, h_s: nn.Sequential, medians: torch.Tensor, scale_table: torch.Tensor,
                   calibration: torch.Tensor | None = None, fracs=None) -> "IntegerScales":
        """Quantise ``h_s`` (its first ``n_scales = out/2`` outputs: the scales) for the entropy model's ``medians``
        (C) and ``scale_table``, with the fixed-point fractions ``fracs`` (f₀ … f_L, as saved) or, without them,
        fractions chosen on ``calibration`` (ẑ samples, N×C×h×w: the range of each layer's output). Given the
        fractions, every integer is derived from the float weights with exact operations only (frexp, scaling by
        powers of two, rounding), so every machine derives the same ones from the same weights file."""
        self = cls(h_s, len(scale_table))
        layers, n_scales = self.layers, self.n_scales
        if (fracs is None) == (calibration is None):
            raise ValueError("give either the calibration samples or the saved fractions")
        given = None if fracs is None else [int(f) for f in torch.as_tensor(fracs).tolist()]
        if given is not None and len(given) != len(layers) + 1:
            raise ValueError(f"expected {len(layers) + 1} fractions, got {len(given)}")
        convs = [m for m in h_s if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
        f_in = INPUT_BITS
        fracs, wfracs = [f_in], []
        a = None if calibration is None else calibration.double()
        for i, (m, d) in enumerate(zip(convs, layers)):
            w, b = m.weight.detach().cpu().double(), m.bias.detach().cpu().double()  # h_s may sit on any device
            if i == len(convs) - 1:  # the scales only
                w, b = w[:n_scales], b[:n_scales]
            g = WEIGHT_BITS - max(0, _ceil_log2(float(w.abs().max())))
            if given is not None:
                f_out = given[i + 1]
            else:
                a = (F.conv_transpose2d(a, w, b, d["stride"], d["padding"], d["output_padding"])
                     if d["kind"] == "deconv" else F.conv2d(a, w, b, d["stride"], d["padding"]))
                if d["leaky"]:
                    a = F.leaky_relu(a, 0.01)
                f_out = ACT_BITS - _ceil_log2(float(a.abs().max()) + 1e-12)
            getattr(self, f"w{i}").copy_(torch.round(w * 2.0 ** g).clamp(-LIMIT16, LIMIT16).to(torch.int16))
            b_int = torch.round(b * 2.0 ** (f_in + g))
            if b_int.abs().max() > LIMIT32:
                raise ValueError(f"layer {i}'s biases do not fit 32 bits in fixed point (2^{f_in + g})")
            getattr(self, f"b{i}").copy_(b_int.to(torch.int32))
            wfracs.append(g)
            fracs.append(f_out)
            f_in = f_out
        self.fracs.copy_(torch.tensor(fracs))
        self.wfracs.copy_(torch.tensor(wfracs))
        self.medians.copy_(torch.round(medians.cpu().double().reshape(-1) * 2.0 ** INPUT_BITS).to(torch.int32))
        t = scale_table.cpu().double()[:-1] * 2.0 ** (fracs[-1] + GAIN_BITS)  # exact: a power-of-two scaling
        self.thresholds.copy_(torch.floor(t).long())
        return self

    # ------------------------------------------------------------------------------------------ running
    def scales(self, z_sym: torch.Tensor) -> torch.Tensor:
        """Integer σ·2^f_L (int64, 1×n_scales×H×W on the CPU) from the integer symbols ``z_sym`` (1×C×h×w)."""
        if z_sym.ndim != 4 or z_sym.shape[0] != 1:
            raise ValueError(f"expected the symbols of one image 1×C×h×w, got {tuple(z_sym.shape)}")
        a = z_sym.detach().to("cpu", torch.int64) * (1 << INPUT_BITS) + self.medians.cpu().long().reshape(1, -1, 1, 1)
        fracs, wfracs = self.fracs.tolist(), self.wfracs.tolist()
        f_in = fracs[0]
        for i, (d, (w2, w2d, w_max)) in enumerate(zip(self.layers, self._kernels())):
            b = getattr(self, f"b{i}").cpu().long()
            k, p, s = d["shape"][-1], d["padding"], d["stride"]
            if d["kind"] == "deconv":  # a transposed convolution = zero insertion + a convolution by the flipped kernel
                n, c, h, wd = a.shape
                up = torch.zeros(n, c, (h - 1) * s + 1, (wd - 1) * s + 1, dtype=torch.int64)
                up[:, :, ::s, ::s] = a
                lo, hi = k - 1 - p, k - 1 - p + d["output_padding"]
                acc = _int_conv2d(up, w2, w2d, w_max, k, (lo, hi, lo, hi))
            else:
                if s != 1:
                    raise ValueError("integer scales run stride-1 convolutions only")
                acc = _int_conv2d(a, w2, w2d, w_max, k, (p, p, p, p))
            acc = acc + b.reshape(1, -1, 1, 1)
            f_out = fracs[i + 1]
            a = _round_div_pow2(acc, f_in + wfracs[i] - f_out)
            if d["leaky"]:
                a = torch.where(a < 0, (a * LEAKY_NUM) >> LEAKY_SHIFT, a)
            f_in = f_out
        return a

    def _kernels(self) -> list[tuple[torch.Tensor, torch.Tensor, int]]:
        """Each layer's kernel as the O×(C·k·k) matrix of a stride-1 convolution (a deconv's flipped and transposed),
        int64 and float64, and its largest magnitude; made once and kept until the weights change (loading bumps their version)."""
        ws = [getattr(self, f"w{i}") for i in range(len(self.layers))]
        key = tuple((w.data_ptr(), w._version) for w in ws)
        cached = self.__dict__.get("_kernel_cache")
        if cached is None or cached[0] != key:
            mats = []
            for d, w in zip(self.layers, ws):
                w = w.cpu().long()
                if d["kind"] == "deconv":
                    w = w.flip(-1, -2).transpose(0, 1)
                w2 = w.reshape(w.shape[0], -1).contiguous()
                mats.append((w2, w2.double(), int(w2.abs().max()) if w2.numel() else 0))
            self.__dict__["_kernel_cache"] = cached = (key, mats)
        return cached[1]

    def indexes(self, z_sym: torch.Tensor, gain: float) -> torch.Tensor:
        """The table index of each y symbol (int32, 1×n_scales×H×W, CPU): CompressAI's ``build_indexes(σ·gain)``
        rule on integers."""
        s = self.scales(z_sym)
        prod = s * gain_fixed(gain)
        thresholds = self.thresholds.cpu()
        below = (prod.unsqueeze(-1) <= thresholds).sum(-1)  # #{j : σ·gain ≤ t_j}
        return (len(thresholds) - below).to(torch.int32)


def _ceil_log2(x: float) -> int:
    """⌈log₂ x⌉ for x > 0, exactly (``math.frexp``: no libm rounding); 0 for x ≤ 0."""
    if x <= 0:
        return 0
    m, e = math.frexp(x)  # x = m·2^e, 0.5 ≤ m < 1
    return e - 1 if m == 0.5 else e


def gain_fixed(gain: float) -> int:
    """round(gain·2^GAIN_BITS) (see :func:`safe_rate` for why this rounding never differs between machines)."""
    return int(round(float(gain) * (1 << GAIN_BITS)))


def gain_is_safe(gain: float) -> bool:
    """Whether gain·2^GAIN_BITS lies at least :data:`GAIN_MARGIN` from a rounding boundary (…+0.5), so that a libm
    whose ``exp``/``log`` differ from this one's in the last bits still rounds it to the same integer."""
    frac = (float(gain) * (1 << GAIN_BITS)) % 1.0
    return abs(frac - 0.5) > GAIN_MARGIN
