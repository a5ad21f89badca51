"""The prior's own face, decoded two ways (session 24).

    python checkpoints/measure24/xgen.py runs/f27-frozen-export [--faces 129] [--rates 0.1 0.2 0.5]

For the first N faces of the shared validation split (never trained on), at each rate: x_fid, and the latent ẑ0 the
codec's 4 DDIM steps end on at realism 1 decoded by the codec's own (fine-tuned, adversarial) decoder — the x_gen
the fusion sees — and by the prior's frozen VAE decoder (which decodes the original's own latent at 30 dB, re-id
1.00, detail 0.92): re-id rank-1 (dlib, gallery = the originals), the descriptor Fréchet distance to the originals,
the detail ratio, PSNR, and mean |ẑ0 − z0| (z0 = the original's latent; |z_fid − z0| on the x_fid row). The gap
between the two decoders is what the codec's decoder draws (or loses) on its own; the prior-VAE row is what the
steered sampler itself drew. The starting noise comes from a generator seeded once.
"""
import argparse

import torch

from fasdiff_lite import data, settings
from fasdiff_lite.evaluation import face_metrics, realism
from fasdiff_lite.models import zoo
from fasdiff_lite.models.compressor import pad

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("codec")
ap.add_argument("--faces", type=int, default=129)
ap.add_argument("--rates", type=float, nargs="+", default=[0.1, 0.2, 0.5])
args = ap.parse_args()
settings.cpu_threads(1)
codec = zoo.load(args.codec)
x = torch.cat([data.to_tensor(f) for f in data.load_faces("shared", split="val", limit=args.faces)])
u8 = lambda im: list((im[..., :64, :64].clamp(0, 1).permute(0, 2, 3, 1).numpy() * 255).round().astype("uint8"))  # noqa: E731
originals = u8(x)
gallery = face_metrics.descriptors(originals)


def row(rate, name, im, dist):
    im = im[..., : x.shape[-2], : x.shape[-1]]
    psnr = float(-10 * torch.log10(((im - x) ** 2).mean()))
    faces = u8(im)
    print(f"| {rate:g} | {name} | {face_metrics.reid_rank1(originals, faces, gallery=gallery):.3f} | "
          f"{realism.descriptor_frechet(faces, original_descriptors=gallery):.4f} | "
          f"{float(realism.detail_ratio(x, im).mean()):.2f} | {psnr:.2f} | {dist:.3f} |", flush=True)


print(f"{args.codec}: {len(x)} held-out faces, 4 steps, realism 1\n")
print("| rate | image | re-id | FD | detail | PSNR dB | mean abs(latent − z0) |")
print("|---|---|---|---|---|---|---|")
with torch.no_grad():
    z0 = codec.prior.encode(pad(x))
    for rate in args.rates:
        z, x_fid, _ = codec.few_step_latent(x, rate, 4, 1.0, generator=torch.Generator().manual_seed(0))
        z_fid = codec.prior.encode(x_fid)
        dist = float((z - z0).abs().mean())
        row(rate, "x_fid", x_fid, float((z_fid - z0).abs().mean()))
        row(rate, "x_gen, the codec's decoder", codec.decode_latent(z), dist)
        row(rate, "x_gen, the prior's frozen VAE", codec.prior.decode(z), dist)
