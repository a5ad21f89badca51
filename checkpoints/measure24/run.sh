#!/bin/bash
# session 24: the steering's first step. f26-x0 (the steering trained on its own denoising with the x0 term, no decode:
# checkpoints/finetune20.sh) and f26b-x0 (f24-gen's recipe from it, the x0 term kept), against x_fid and f25-latent /
# f24b-gen with benchmarks/decoder_ci.py (checkpoints/measure_ci.bash), and the prior's own face x_gen with
# benchmarks/prior_share.py; here, latent_reach.py (where the sampler's latent lands) and xgen.py (the
# sampler's latent through the codec's decoder and through the prior's frozen VAE), sampler_probe.py (where the
# steps lose the person: each step's estimate, an oracle first step, a pull toward the prompt, both decoders).
#   checkpoints/measure24/run.sh NAME...     (nice it beside training: nice -n 19 checkpoints/measure24/run.sh ...)
source "$(dirname "$0")/../measure_ci.bash"
measure_in 24
here() {  # one of this folder's scripts on one export, once: here SCRIPT NAME EXPORT
  [ -f "$O/$2.md" ] && return 0
  while [ ! -f "$3/codec.json" ]; do sleep 60; done
  echo "$2: starting $(date -u +%H:%M)"
  PYTHONPATH="$PWD" FASDIFF_SHARED=/work/shared OPENBLAS_NUM_THREADS=1 /work/main/.venv/bin/python \
    "/work/main/checkpoints/measure24/$1" "$3" > "$O/$2.tmp" 2> "$O/$2.log" && mv "$O/$2.tmp" "$O/$2.md"
  echo "$2: finished $(date -u +%H:%M)"
}
reach() { here latent_reach.py "$@"; }
xgen() { here xgen.py "$@"; }
probe() { here sampler_probe.py "$@"; }
for m in "$@"; do
  case $m in
    reach-f21-idall) reach $m $R/f21-idall-export ;;
    reach-f25-latent) reach $m $R/f25-latent-export ;;
    reach-f26-x0) reach $m $R/f26-x0-export ;;
    reach-f26b-x0) reach $m $R/f26b-x0-export ;;
    xgen-f25-latent) xgen $m $R/f25-latent-export ;;
    xgen-f26-x0) xgen $m $R/f26-x0-export ;;
    xgen-f27-frozen) xgen $m $R/f27-frozen-export ;;
    probe-f25-latent) probe $m $R/f25-latent-export ;;
    probe-f26-x0) probe $m $R/f26-x0-export ;;
    probe-f27-frozen) probe $m $R/f27-frozen-export ;;
    share-f27-frozen) measure_script $O $m prior_share.py $R/f27-frozen-export --rates 0.1 0.2 ;;
    f28-vs-xfid) measure_ci $O $m --codec $R/f28-fuse-export ;;
    f28-vs-f24) measure_ci $O $m --codec $R/f28-fuse-export --against $R/f24-gen-export ;;
    share-f28-fuse) measure_script $O $m prior_share.py $R/f28-fuse-export ;;
    xgen-f28-fuse) xgen $m $R/f28-fuse-export ;;
    f29-vs-xfid) measure_ci $O $m --codec $R/f29-vaefuse-export ;;
    f29-vs-f28) measure_ci $O $m --codec $R/f29-vaefuse-export --against $R/f28-fuse-export ;;
    share-f26-x0) measure_script $O $m prior_share.py $R/f26-x0-export --rates 0.1 0.2 ;;
    share-f26b-x0) measure_script $O $m prior_share.py $R/f26b-x0-export ;;
    f26b-vs-xfid) measure_ci $O $m --codec $R/f26b-x0-export ;;
    f26b-vs-f24b) measure_ci $O $m --codec $R/f26b-x0-export --against $R/f24b-gen-export ;;
    *) echo "unknown measurement $m" >&2; exit 2 ;;
  esac
done
