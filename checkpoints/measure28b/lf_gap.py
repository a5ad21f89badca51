"""The shipped fasdiff at rate 0 on the first 16 shared validation faces: how far the fused face (before the LFE's correction)
and the output are from x_fid in the correction's low band (mean |LF(.) - LF(x_fid)|, LF = lfe.smooth_lowpass at 2:0.25;
chroma_lf_fused: the part of the fused gap that is colour), and the lf consistency term on each (lfc_*).

    python checkpoints/measure28b/lf_gap.py    (from the repository root; runs/v25-full-export)
"""
import torch
from fasdiff_lite.face_sets import validation_faces
from fasdiff_lite.models.codec import FaSDiffCodec
from fasdiff_lite.models.lfe import smooth_lowpass, hybrid_lowpass, lf_consistency_loss
torch.set_num_threads(1)
codec = FaSDiffCodec.from_pretrained("runs/v25-full-export")
lf = lambda im: smooth_lowpass(im, "haar", 2, 0.25)
x = torch.from_numpy(validation_faces("shared", 16)).permute(0, 3, 1, 2).float() / 255
a = {"fused": 0, "out": 0, "xfid": 0, "lfc_fused": 0, "lfc_out": 0, "chroma_lf_fused": 0}
for i in range(len(x)):
    xi = x[i:i+1]
    with torch.no_grad():
        st = codec.decode_stages(codec.compress(xi, 0.0), steps=4, realism=1.0)
    a["fused"] += (lf(st["fused"]) - lf(st["x_fid"])).abs().mean().item() / len(x)
    a["out"] += (lf(st["out"]) - lf(st["x_fid"])).abs().mean().item() / len(x)
    a["xfid"] += (lf(st["x_fid"]) - lf(xi)).abs().mean().item() / len(x)
    a["lfc_fused"] += lf_consistency_loss(xi, st["fused"]).item() / len(x)
    a["lfc_out"] += lf_consistency_loss(xi, st["out"]).item() / len(x)
    d = lf(st["fused"]) - lf(st["x_fid"])
    a["chroma_lf_fused"] += (d - d.mean(1, keepdim=True)).abs().mean().item() / len(x)
print({k: round(v, 4) for k, v in a.items()})
