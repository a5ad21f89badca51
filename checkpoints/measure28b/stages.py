"""The shipped fasdiff's stages at rate 0 (32 faces of each held-out set): luminance and colour detail energy of x_fid,
x_gen, the fused face (before the LFE's correction) and the output, each summed over the faces and divided by the
originals'. Where the colour halos come from: the fusion (trained behind the correction) paints them, the correction
takes part of them away.

    python checkpoints/measure28b/stages.py    (from the repository root; runs/v25-full-export)
"""
import torch
from fasdiff_lite.face_sets import validation_faces
from fasdiff_lite.frequency import detail_energy, luminance as luma
from fasdiff_lite.models.codec import FaSDiffCodec
torch.set_num_threads(1)
codec = FaSDiffCodec.from_pretrained("runs/v25-full-export")
chroma = lambda im: im - luma(im)
for which in ("shared", "utkface"):
    x = torch.from_numpy(validation_faces(which, 32)).permute(0, 3, 1, 2).float() / 255
    acc = {}
    for i in range(len(x)):
        xi = x[i:i+1]
        with torch.no_grad():
            st = codec.decode_stages(codec.compress(xi, 0.0), steps=4, realism=1.0)
        st["orig"] = xi
        for k in ("orig", "x_fid", "x_gen", "fused", "out"):
            acc.setdefault(k, [0, 0]); acc[k][0] += detail_energy(luma(st[k])).item(); acc[k][1] += detail_energy(chroma(st[k])).item()
    o = acc["orig"]
    print(which, {k: (round(v[0] / o[0], 2), round(v[1] / o[1], 2)) for k, v in acc.items()})
