#!/bin/bash
# session 28: the v25 stage of steer25.sh for "full" again (from s25-full: the fusion alone, 1,200 steps on 150 cached
# batches of the steering's latents, ~14 min on one core) with one change to the recipe, then side_by_side.py's numbers
# (64 faces of each held-out set at rates 0 and 0.1: PSNR, luminance and chroma detail) into runs/measure28b/NAME.stats
#   nice -n 19 checkpoints/measure28b/probe.sh NAME "EXTRA FLAGS"
source "$(dirname "$0")/../measure_ci.bash"
measure_in 28b
name=$1 extra=$2
BASE="--faces utkface+shared --steps 1200 --batch-size 12 --lr 1e-4 --warmup 50 --multi-realism --split 1
 --detail-weight 1 --adv-weight 0.05 --adv-start 100 --id-weight 1.0 --identity $R/identity28/export --gen-weight 0.1
 --gen-detail-weight 1 --checkpoint-every 200 --threads 1 --latent-cache 150 --variant fasdiff --prior $R/prior28
 --init $R/s25-full-export --init-parts control,lfe,fusion --train-parts fusion"
echo "$name (probe, session 28): $BASE $extra --out $R/$name --export $R/$name-export" | tr '\n' ' ' > "$O/$name.cmd"
if [ ! -f "$R/$name-export/codec.json" ]; then
  echo "$name: training $(date -u +%H:%M)"
  # shellcheck disable=SC2086
  PYTHONPATH="$PWD" FASDIFF_SHARED=/work/shared OPENBLAS_NUM_THREADS=1 /work/main/.venv/bin/fasdiff-lite train fasdiff \
    $BASE $extra --out "$R/$name" --export "$R/$name-export" > "$R/$name.log" 2>&1 || { echo "$name: failed"; exit 1; }
fi
for rate in 0 0.1; do
  [ -f "$O/$name-r$rate.stats" ] && continue
  PYTHONPATH="$PWD" FASDIFF_SHARED=/work/shared OPENBLAS_NUM_THREADS=1 /work/main/.venv/bin/python \
    /work/main/checkpoints/measure28b/side_by_side.py "$O/$name-r$rate.png" --codecs "$R/$name-export=$name" \
    --rate $rate --n 5 --stats 64 > "$O/$name-r$rate.tmp" 2>/dev/null && mv "$O/$name-r$rate.tmp" "$O/$name-r$rate.stats"
done
echo "$name: done $(date -u +%H:%M)"
