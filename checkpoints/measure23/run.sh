#!/bin/bash
# session 23: whose detail is it? The diffusion prior's share of a decode (benchmarks/prior_share.py: the decode with
# the prior's face replaced by x_fid, paired; and the prior's own face against x_fid), where the denoising starts
# (benchmarks/decode_knobs.py --knob start, chosen on UTKFace), and f24-gen / f24-oldprior (x_gen itself asked for the
# person: checkpoints/finetune20.sh), f24b-gen (f24-gen continued) and f25-latent (the sampler's latent asked to be the
# original's) with benchmarks/decoder_ci.py (checkpoints/measure_ci.bash).
#   checkpoints/measure23/run.sh NAME...     (nice it beside training: nice -n 19 checkpoints/measure23/run.sh ...)
source "$(dirname "$0")/../measure_ci.bash"
measure_in 23
for m in "$@"; do
  case $m in
    start-fasdiff-utk) measure_script $O $m decode_knobs.py fasdiff --knob start --values 0.4 0.55 0.7 0.85 1 --rates 0.1 0.15 --faces utkface ;;
    start-f21-idall-utk) measure_script $O $m decode_knobs.py $R/f21-idall-export --knob start --values 0.4 0.55 0.7 0.85 1 --rates 0.1 0.15 --faces utkface ;;
    share-fasdiff) measure_script $O $m prior_share.py fasdiff ;;
    share-f21-idall) measure_script $O $m prior_share.py $R/f21-idall-export ;;
    share-f21-oldprior) measure_script $O $m prior_share.py $R/f21-oldprior-export ;;
    share-f24-gen) measure_script $O $m prior_share.py $R/f24-gen-export ;;
    share-f24-oldprior) measure_script $O $m prior_share.py $R/f24-oldprior-export ;;
    f24-vs-xfid) measure_ci $O $m --codec $R/f24-gen-export ;;
    f24-vs-f21) measure_ci $O $m --codec $R/f24-gen-export --against $R/f21-idall-export ;;
    f24-prior) measure_ci $O $m --codec $R/f24-gen-export --against $R/f24-oldprior-export ;;
    f24b-vs-xfid) measure_ci $O $m --codec $R/f24b-gen-export ;;
    share-f24b-gen) measure_script $O $m prior_share.py $R/f24b-gen-export ;;
    f25-vs-xfid) measure_ci $O $m --codec $R/f25-latent-export ;;
    f25-vs-f24b) measure_ci $O $m --codec $R/f25-latent-export --against $R/f24b-gen-export ;;
    share-f25-latent) measure_script $O $m prior_share.py $R/f25-latent-export --rates 0.1 0.2 ;;
    *) echo "unknown measurement $m" >&2; exit 2 ;;
  esac
done
