"""A differentiable identity proxy: a small CNN taught to imitate dlib's face descriptor on 64-px faces.

Why a proxy
-----------
FaSDiff trains its decoder with an *identity loss*: a face recogniser looks at the decoded face and at the
original, and the decoder is pushed until the recogniser sees the same person. The only recogniser this suite has
offline is dlib's ResNet descriptor (``evaluation.face_metrics``), and dlib is not differentiable: it is C++
code behind a HOG detector and a landmark fit, so no gradient flows from its 128 numbers back to the pixels.
``IdentityNet`` stands in for it during training. It is a student network *distilled* from dlib: trained to
output, for a face, the direction of the descriptor dlib gives that face, so its gradients say "this change of
pixels moves dlib's descriptor that way"::

    face x (N×3×H×W in [0, 1]) ─resize to 64─▶ 5 conv stages (64→32→16→8→4 px) ─▶ 4×4 depthwise ─▶ linear ─▶ e
                                                                                     e ∈ R¹²⁸, |e| = 1
    dlib descriptor d(x) ─▶ t = (d − center) / |d − center|                            the target e imitates

    identity_loss(net, x̂, x) = mean(1 − cos(net(x̂), net(x)))        x's embedding detached: x̂ moves, x does not

**The target space is centred.** All dlib descriptors share a large common direction: two *different* people
have a cosine of about 0.84 (``face_metrics``). A proxy imitating the raw direction would spend its output on
that shared part, and ``1 − cos`` would barely separate a wrong face from the right one. So the targets are the
descriptors minus ``center`` (their mean over the training views, saved with the weights), normalised: there,
different people sit near cosine 0 and the same face near 1, and the loss's gradient is spent on identity.
Distances and rankings between descriptors do not change when one vector is subtracted from all of them, so
re-identification in this space ranks faces as dlib's own distance does (up to the normalisation).

What it is trained on
---------------------
``fasdiff-lite train identity`` (``train/identity.py``): the shared faces' *train* split only, each face seen as
several views: the plain 64-px face, random crops / shifts / flips / colour changes (``data.augment_batch``), and
each of those passed through the shipped high-frequency-sensitive compressor at a random rate, so the proxy
also sees the blurred, blocky faces a decoder produces, and (``--decoders``) the faces FaSDiff decoders draw
from their bytes. Each view's target is dlib's descriptor of exactly that uint8 image (through dlib's own
upsampling, detection and alignment), computed once and cached.

Its limits (read before trusting it)
------------------------------------
- It imitates dlib **only as well as measured**: ``benchmarks/identity_proxy.py`` reports, on the 150 held-out
  faces and their compressed copies, how well the proxy's cosine follows dlib's and how its re-identification
  compares. A number that is not in that table is not known.
- It has never seen anything but 64-px, tightly cropped, roughly aligned faces like the shared ones. Other
  sizes are resized to 64 px inside, but the proxy knows nothing about a face that is framed differently.
- **An optimiser can fool it.** A decoder trained to please a small network will find pixel patterns that
  move this network's embedding without moving dlib's (adversarial examples, and the proxy is far smaller than
  the model it copies). That is why the identity *loss* may use the proxy but the identity *evaluation* keeps
  using dlib itself: a proxy-trained decoder is judged by the model it did not train against.
- dlib is itself a 2017 recogniser at ~150-px chips; the proxy inherits its blind spots on top of its own.

Use (weights from ``fasdiff-lite train identity --export DIR``)::

    net = IdentityNet.from_pretrained(DIR).requires_grad_(False)    # eval mode, frozen: a loss, not a learner
    loss = identity_loss(net, x_hat, x)                             # differentiable w.r.t. x_hat
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


@dataclass
class IdentityConfig:
    widths: tuple[int, ...] = (16, 32, 64, 96, 128)  # stem at 64 px, then one stage per halving: 32, 16, 8, 4 px
    dim: int = 128  # the embedding's length (dlib's descriptor has 128)
    size: int = 64  # the side the network works at; other inputs are resized to it


def _conv(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class _Residual(nn.Module):
    """Two 3×3 convolutions with a skip: x + f(x)."""

    def __init__(self, c: int):
        super().__init__()
        self.f = nn.Sequential(_conv(c, c), nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return F.relu(x + self.f(x))


class IdentityNet(nn.Module):
    """``forward(x) -> N×dim`` unit-norm embeddings of faces ``x`` (N×3×H×W in [0, 1]; resized to ``size`` when
    H×W differs). ``target(d)`` maps dlib descriptors into the same (centred, normalised) space."""

    def __init__(self, config: IdentityConfig | None = None):
        super().__init__()
        self.config = c = config or IdentityConfig()
        w = tuple(int(v) for v in c.widths)
        if len(w) != 5:
            raise ValueError(f"widths needs 5 numbers (stem, then stages at 32, 16, 8 and 4 px), got {w}")
        self.stem = _conv(3, w[0])  # 64 px
        self.stages = nn.Sequential(
            nn.Sequential(_conv(w[0], w[1], 2), _Residual(w[1])),  # 32 px
            nn.Sequential(_conv(w[1], w[2], 2), _Residual(w[2])),  # 16 px
            nn.Sequential(_conv(w[2], w[3], 2), _conv(w[3], w[3])),  # 8 px
            _conv(w[3], w[4], 2),  # 4 px
        )
        side = c.size // 16
        # a depthwise convolution over the whole 4×4 map (MobileFaceNet's "global depthwise"): each position has its
        # own weight, so where a feature is (eyes above the mouth) still counts, unlike global average pooling
        self.pool = nn.Sequential(nn.Conv2d(w[4], w[4], side, groups=w[4], bias=False), nn.BatchNorm2d(w[4]))
        self.head = nn.Linear(w[4], c.dim)
        # the mean dlib descriptor of the training views: targets are (d − center) normalised (see the docstring)
        self.register_buffer("center", torch.zeros(c.dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"expected faces N×3×H×W, got {tuple(x.shape)}")
        s = self.config.size
        if x.shape[-2:] != (s, s):
            x = F.interpolate(x, size=(s, s), mode="bilinear", antialias=True, align_corners=False)
        h = self.stages(self.stem((x - 0.5) / 0.25))
        return F.normalize(self.head(self.pool(h).flatten(1)), dim=1)

    def target(self, descriptors) -> torch.Tensor:
        """dlib descriptors (N×128, array or tensor) → the unit vectors this network is trained to output."""
        d = torch.as_tensor(descriptors, dtype=torch.float32, device=self.center.device)
        return F.normalize(d - self.center, dim=-1)

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # -- saving and loading (config.json + model.safetensors, as the other models' folders) -----------------
    def save_pretrained(self, folder: str | Path, extra: dict | None = None) -> Path:
        """``config.json`` (the architecture, and ``extra``: how it was trained) + ``model.safetensors`` (fp32:
        1.5 MB, small enough not to round)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().float().contiguous().cpu() if v.is_floating_point() else v.detach().contiguous().cpu()
                 for k, v in self.state_dict().items()}
        save_file(state, str(folder / WEIGHTS_FILE))
        cfg = asdict(self.config)
        cfg["widths"] = list(cfg["widths"])
        meta = {"kind": "identity-proxy", "config": cfg, "n_parameters": self.n_parameters, **(extra or {})}
        (folder / CONFIG_FILE).write_text(json.dumps(meta, indent=1))
        return folder

    @classmethod
    def from_pretrained(cls, folder: str | Path, device=None) -> "IdentityNet":
        """The network saved in ``folder``, in eval mode (its batch norms use their running statistics)."""
        folder = Path(folder)
        if not (folder / WEIGHTS_FILE).exists():
            raise FileNotFoundError(f"no identity proxy weights in {folder}; train them with "
                                    "`fasdiff-lite train identity --export DIR`")
        meta = json.loads((folder / CONFIG_FILE).read_text())
        cfg = dict(meta["config"])
        cfg["widths"] = tuple(cfg["widths"])
        net = cls(IdentityConfig(**cfg))
        net.load_state_dict(load_file(str(folder / WEIGHTS_FILE)), strict=True)
        net.training_info = meta.get("training")
        return net.to(device or "cpu").eval()


def identity_loss(net: IdentityNet, x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """mean(1 − cos(net(x̂), net(x))): 0 when the proxy sees the same face in both, up to 2. The original's embedding
    is computed without gradient (it is the reference, not something to change); the gradient reaches ``x_hat``
    (and the network's weights only if they require it: freeze it with ``net.requires_grad_(False)``)."""
    with torch.no_grad():
        ref = net(x)
    return (1 - (net(x_hat) * ref).sum(dim=1)).mean()
