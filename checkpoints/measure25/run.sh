#!/bin/bash
# session 25: f30-steerfuse (the steering and the fusion trained together from f29-vaefuse, the decoder held at the
# prior's VAE decoder: checkpoints/steer25.sh) against x_fid and f29-vaefuse (benchmarks/decoder_ci.py through
# checkpoints/measure_ci.bash); the realism slider at rate 0.1 (benchmarks/realism_slider.py, with the FD); the
# prior's own face x_gen (checkpoints/measure24/xgen.py) and its share (benchmarks/prior_share.py); and the
# ablation rows of steer25.sh's one recipe (v25-full against v25-nolfe, v25-oldprior, v25-plain).
#   nice -n 19 checkpoints/measure25/run.sh NAME...
source "$(dirname "$0")/../measure_ci.bash"
measure_in 25
wait_for() { while [ ! -f "$1/codec.json" ]; do sleep 60; done; }
slider() {  # slider NAME EXPORT: rate 0.1, 129 faces, realism 0 … 1, with the FD (realism_slider.py writes no --json)
  wait_for "$2"
  measure_cmd "$O" "$1" /work/main/.venv/bin/python benchmarks/realism_slider.py "$2" --rate 0.1 --faces 129 \
    --realisms 0 0.1 0.25 0.5 0.75 1 --fd
}
xgen() {  # the steering's latent through the prior's VAE and the codec's decoder (session 24's script)
  [ -f "$O/$1.md" ] && return 0
  wait_for "$2"
  measure_cmd "$O" "$1" /work/main/.venv/bin/python /work/main/checkpoints/measure24/xgen.py "$2"
}
verify() {  # verify NAME EXPORT RATES...: the 6,000 celeba_identity pairs, into runs/verification25 (a copy of the
  # committed sweep); paired against the shipped fasdiff (verification_ci.py). x_fid's rows (hf-compressor's) are from a
  # sweep before session 14, without per-pair distances: against them the accuracies are compared unpaired
  local name=$1 codec=$2; shift 2
  [ -f "$O/$name.md" ] && return 0
  wait_for "$codec"
  local V=$R/verification25
  [ -f "$V/verification.json" ] || { mkdir -p "$V" && cp /work/main/checkpoints/verification_celeba/verification* "$V/"; }
  [ -f "$V/aligned_64px.npz" ] || cp "$R/verification_celeba/aligned_64px.npz" "$V/" 2>/dev/null  # dlib's alignment, once
  echo "$name: starting $(date -u +%H:%M)"
  PYTHONPATH="$PWD" FASDIFF_SHARED=/work/shared OPENBLAS_NUM_THREADS=1 /work/main/.venv/bin/fasdiff-lite eval \
    --pairs /work/shared/faces/celeba_identity/pairs.txt --codecs "$codec" --rates "$@" --threads 1 --out "$V" > "$O/$name.log" 2>&1 &&
    PYTHONPATH="$PWD" /work/main/.venv/bin/python benchmarks/verification_ci.py "$codec" fasdiff --rows "$V/verification.json" \
      --rates "$@" > "$O/$name.tmp" 2>> "$O/$name.log" && mv "$O/$name.tmp" "$O/$name.md"
  echo "$name: finished $(date -u +%H:%M)"
}
verify_xfid() {  # x_fid (hf-compressor) at 0.1 / 0.2 with per-pair distances, into runs/verification25x (its reference
  # row taken from runs/verification25, so it is not measured again), then f30's rows merged in: f30 − x_fid, paired
  local name=$1 X=$R/verification25x
  [ -f "$O/$name.md" ] && return 0
  mkdir -p "$X" && cp -n "$R/verification25/aligned_64px.npz" "$X/"
  [ -f "$X/verification.json" ] || /work/main/.venv/bin/python -c "import json, sys; d = json.load(open(sys.argv[1])); \
d['rows'] = [r for r in d['rows'] if r['codec'] == 'original']; json.dump(d, open(sys.argv[2], 'w'))" \
    "$R/verification25/verification.json" "$X/verification.json"
  echo "$name: starting $(date -u +%H:%M)"
  PYTHONPATH="$PWD" FASDIFF_SHARED=/work/shared OPENBLAS_NUM_THREADS=1 /work/main/.venv/bin/fasdiff-lite eval \
    --pairs /work/shared/faces/celeba_identity/pairs.txt --codecs hf-compressor --rates 0.1 0.2 --threads 1 --out "$X" \
    > "$O/$name.log" 2>&1 &&
    /work/main/.venv/bin/python tools/ship.py merge "$R/verification25/verification.json" "$X/verification.json" >> "$O/$name.log" &&
    PYTHONPATH="$PWD" /work/main/.venv/bin/python benchmarks/verification_ci.py "$R/f30-steerfuse-export" hf-compressor \
      --rows "$X/verification.json" --rates 0.1 0.2 > "$O/$name.tmp" 2>> "$O/$name.log" && mv "$O/$name.tmp" "$O/$name.md"
  echo "$name: finished $(date -u +%H:%M)"
}
for m in "$@"; do
  case $m in
    slider-f29) slider $m $R/f29-vaefuse-export ;;
    slider-f30) slider $m $R/f30-steerfuse-export ;;
    f30-vs-xfid) measure_ci $O $m --codec $R/f30-steerfuse-export ;;
    f30-vs-f29) measure_ci $O $m --codec $R/f30-steerfuse-export --against $R/f29-vaefuse-export ;;
    xgen-f30) xgen $m $R/f30-steerfuse-export ;;
    xgen-s25-full) xgen $m $R/s25-full-export ;;
    share-f30) measure_script $O $m prior_share.py $R/f30-steerfuse-export --rates 0.1 0.2 ;;
    v25-vs-xfid) measure_ci $O $m --codec $R/v25-full-export ;;
    v25-lfe) measure_ci $O $m --codec $R/v25-full-export --against $R/v25-nolfe-export ;;
    v25-prior) measure_ci $O $m --codec $R/v25-full-export --against $R/v25-oldprior-export ;;
    v25-plain) measure_ci $O $m --codec $R/v25-full-export --against $R/v25-plain-export ;;
    verify-f30) verify $m $R/f30-steerfuse-export 0.1 0.2 ;;
    verify-f29) verify $m $R/f29-vaefuse-export 0.1 0.2 ;;
    verify-xfid) verify_xfid $m ;;
    *) echo "unknown measurement $m" >&2; exit 2 ;;
  esac
done
