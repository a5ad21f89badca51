"""Where the 4-step sampler loses the person (session 24): four readings of one codec on held-out faces.

    python checkpoints/measure24/sampler_probe.py runs/f26-x0-export [--faces 64]

On the first N faces of the shared validation split (never trained on), at realism 1 (timesteps 999, 749, 499, 249):
1. per step, the error mean |ẑ0(z_t, t) − z0| of the clean latent the steered denoiser implies, (a) with z_t the
   original's latent z0 noised to t (what the diffusion and x0 losses train) and (b) along the sampler's own path
   from z_fid noised to 999 (what decoding runs); beside mean |z_fid − z0|, the prompt's own error;
2. an oracle first step: the first step's estimate replaced by z_fid, or by z0 itself, the other steps as the codec;
3. every step's estimate pulled toward the prompt, ẑ0 ← ẑ0 + λ(z_fid − ẑ0), λ = 0.25, 0.5, 1;
4. each final latent decoded by the codec's decoder and by the prior's frozen VAE: PSNR, re-id rank-1 (dlib, gallery =
   the originals), detail ratio; and the two decoders on z_fid and on z0.
All noise from generators seeded 0.
"""
import argparse

import torch

from fasdiff_lite import data, settings
from fasdiff_lite.evaluation import face_metrics, realism
from fasdiff_lite.models import steering, zoo
from fasdiff_lite.models.compressor import pad

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("codec")
ap.add_argument("--faces", type=int, default=64)
ap.add_argument("--rates", type=float, nargs="+", default=[0.1, 0.2, 0.5])
args = ap.parse_args()
settings.cpu_threads(1)
codec = zoo.load(args.codec)
P = codec.prior
x = torch.cat([data.to_tensor(f) for f in data.load_faces("shared", split="val", limit=args.faces)])
ts = codec.timesteps(4, 1.0)
u8 = lambda im: list((im[..., :64, :64].clamp(0, 1).permute(0, 2, 3, 1).numpy() * 255).round().astype("uint8"))  # noqa: E731
originals = u8(x)
gallery = face_metrics.descriptors(originals)
dist = lambda a, b: float((a - b).abs().mean())  # noqa: E731


def implied(z, t, cond):
    out = steering.steered_output(P, codec.control, codec.lfe, z, t, cond)
    return out, P.predict_x0(z, t, P.noise_from_output(out, z, t))


def sample(z_fid, cond, first=None, pull=0.0):
    """The codec's DDIM steps from z_fid noised to 999; ``first``: the first step's estimate replaced by this latent;
    ``pull``: every estimate moved that share of the way to z_fid. Returns ẑ0 and the estimates' errors on the path."""
    g = torch.Generator().manual_seed(0)
    z, _ = P.add_noise(z_fid, ts[0], generator=g)
    sched = P.start_sampler(ts, "ddim")
    path = []
    for i, t in enumerate(ts):
        out, x0 = implied(z, t, cond)
        if i == 0 and first is not None:
            x0 = first
        x0 = x0 + pull * (z_fid - x0)
        path.append(dist(x0, z0))
        if i == 0 and first is not None or pull:
            a = P._alpha_bar(t, z)
            out = (z - a.sqrt() * x0) / (1 - a).sqrt()  # the ε that implies this estimate (ε-prediction priors)
        z = P.sampler_step(sched, out, t, z, g)
    return z, path


def judge(im):
    im = im[..., :64, :64]
    psnr = float(-10 * torch.log10(((im - x) ** 2).mean()))
    return (f"{psnr:.2f} dB, re-id {face_metrics.reid_rank1(originals, u8(im), gallery=gallery):.3f}, "
            f"detail {float(realism.detail_ratio(x, im).mean()):.2f}")


if P.prediction_type != "epsilon":
    raise SystemExit("this probe rewrites ε; it handles ε-prediction priors only")
print(f"{args.codec}: {len(x)} held-out faces, 4 DDIM steps at realism 1 (t = {ts.tolist()})\n")
with torch.no_grad():
    z0 = P.encode(pad(x))
    print(f"decoders on the original's latent z0: the codec's {judge(codec.decode_latent(z0))}; "
          f"the prior's VAE {judge(P.decode(z0))}\n")
    for rate in args.rates:
        o = codec.compressor.forward_rate(pad(x), rate)
        prompt, x_fid = o["y_hat"], o["x_hat"].clamp(0, 1)
        z_fid = P.encode(x_fid)
        cond = codec.conditioning(prompt, x_fid, z_fid)
        g = torch.Generator().manual_seed(0)
        noised = [dist(implied(P.add_noise(z0, t, generator=g)[0], t, cond)[1], z0) for t in ts]
        print(f"### rate {rate:g}: mean abs(z_fid − z0) = {dist(z_fid, z0):.3f}; x_fid {judge(x_fid)}")
        print(f"decoders on z_fid: the codec's {judge(codec.decode_latent(z_fid))}; the prior's VAE {judge(P.decode(z_fid))}\n")
        print("| sampler | estimate error per step (from z0 noised) | along the sampler's path | final abs(ẑ0 − z0) "
              "| x_gen, the codec's decoder | x_gen, the prior's VAE |")
        print("|---|---|---|---|---|---|")
        rows = [("the codec", {}), ("first step := z_fid", {"first": z_fid}), ("first step := z0 (oracle)", {"first": z0}),
                ("pull λ = 0.25", {"pull": 0.25}), ("pull λ = 0.5", {"pull": 0.5}), ("pull λ = 1", {"pull": 1.0})]
        for name, kw in rows:
            z, path = sample(z_fid, cond, **kw)
            fwd = " / ".join(f"{v:.3f}" for v in noised) if name == "the codec" else ""
            print(f"| {name} | {fwd} | {' / '.join(f'{v:.3f}' for v in path)} | {dist(z, z0):.3f} | "
                  f"{judge(codec.decode_latent(z))} | {judge(P.decode(z))} |", flush=True)
        print()
