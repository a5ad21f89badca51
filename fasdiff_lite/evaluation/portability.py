"""Does a file made here decode on another machine? A simulation of "another machine" for a decoder, and the check
that a file decodes to the very same symbols there (issue 30; ``models/integer_scales.py`` is the fix it checks).

Another machine computes the same floating-point expressions with other kernels: other SIMD widths, GPU convolution
algorithms, TF32, another libm, another number of threads. :func:`other_machine` imitates that three ways:

- ``"noise"``: every floating-point output of the hyper-synthesis h_s (the entropy-parameter path) multiplied by
  1 + U(−ε, ε) (ε = 10⁻⁴ by default: far more than float32 kernels differ by), and ``math.exp`` / ``math.log`` (the
  rate's gain) a few ulps off, as another libm may be;
- ``"float64"``: the whole decoder in double precision;
- ``"threads"``: two torch threads instead of one.

:func:`decoded_symbols` records what the range decoder reads from a file; :func:`mismatches` counts the files whose
symbols differ (or that stop decoding) on the other machine.
"""
from __future__ import annotations

import contextlib
import copy
import math

import torch

from .. import bitstream, rans
from ..models import compressor as compressor_module

HOWS = ("noise", "float64", "threads")
RELATIVE_NOISE = 1e-4


class _LibmUlps:
    """``math`` with exp and log a few ulps off (another libm)."""

    def __getattr__(self, name):
        f = getattr(math, name)
        if name in ("exp", "log"):
            return lambda x: f(x) * (1 + 4e-16)
        return f


def _compressor(model):
    return getattr(model, "compressor", model)


@contextlib.contextmanager
def other_machine(model, how: str, noise: float = RELATIVE_NOISE, seed: int = 0):
    """Yield ``model`` (a compressor or a FaSDiff codec) as another machine would run it (``how``: one of
    :data:`HOWS`); everything is put back on exit."""
    if how not in HOWS:
        raise ValueError(f"how must be one of {', '.join(HOWS)}, got {how!r}")
    g = torch.Generator().manual_seed(seed)
    hooks, threads, real_math = [], torch.get_num_threads(), compressor_module.math
    if how == "noise":
        def jitter(module, args, out):
            eps = (torch.rand(out.shape, generator=g, dtype=torch.float64) * 2 - 1) * noise
            return out * (1 + eps.to(out.dtype, copy=False).to(out.device))
        hooks = [m.register_forward_hook(jitter) for m in _compressor(model).h_s]
        compressor_module.math = _LibmUlps()
    elif how == "float64":
        model = copy.deepcopy(model).double()
    else:
        torch.set_num_threads(2)
    try:
        yield model
    finally:
        for h in hooks:
            h.remove()
        compressor_module.math = real_math
        torch.set_num_threads(threads)


def decoded_symbols(model, blob: bytes, images: list | None = None, **decode_kw):
    """The symbols the range decoder reads from ``blob`` when ``model`` decodes it (a list per stream call), or
    ``"error: …"`` when decoding stops with a BitstreamError. ``images``: a list the decoded image is appended to
    (so a caller that wants the pixels too decodes once)."""
    seen = []
    classes = (rans.RansDecoder, rans.Rans64Decoder)
    originals = {c: c.decode_stream for c in classes}

    def recording(f):
        def decode_stream(self, *a, **k):
            out = f(self, *a, **k)
            seen.append(list(out))
            return out
        return decode_stream

    for c in classes:
        c.decode_stream = recording(originals[c])
    try:
        with torch.no_grad():
            image = model.decompress(blob, **decode_kw)
        if images is not None:
            images.append(image)
        return seen
    except bitstream.BitstreamError as e:
        return f"error: {e}"
    finally:
        for c in classes:
            c.decode_stream = originals[c]


def mismatches(model, files: list[bytes], how: str, noise: float = RELATIVE_NOISE) -> int:
    """How many of ``files`` decode to other symbols (or fail) on :func:`other_machine` ``how`` than here."""
    here = [decoded_symbols(model, b) for b in files]
    bad = [i for i, s in enumerate(here) if isinstance(s, str)]
    if bad:
        raise ValueError(f"{len(bad)} files do not decode even here (first: {here[bad[0]]})")
    with other_machine(model, how, noise) as other:
        return sum(decoded_symbols(other, b) != s for b, s in zip(files, here))
