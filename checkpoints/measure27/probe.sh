#!/bin/bash
# session 27: fusion-stage probes: v25-full's fusion trained again behind its control, LFE and decoder (600 steps on
# 150 cached batches of the steering's latents, ~7 min), each with one change to the recipe, then decoder_ci against
# x_fid (129 held-out faces, rates 0-0.3).   nice -n 19 checkpoints/measure27/probe.sh NAME "EXTRA FLAGS"
source "$(dirname "$0")/../measure_ci.bash"
measure_in 27
name=$1 extra=$2
BASE="--faces utkface+shared --steps 600 --batch-size 12 --lr 1e-4 --warmup 50 --multi-realism --split 1
 --detail-weight 1 --adv-weight 0.05 --adv-start 100 --id-weight 1.0 --identity $R/identity28/export --gen-weight 0.1
 --gen-detail-weight 1 --checkpoint-every 200 --threads 1 --latent-cache 150 --variant fasdiff --prior $R/prior28
 --init $R/v25-full-export --init-parts control,lfe,fusion --train-parts fusion"
echo "$name (probe, session 27): $BASE $extra --out $R/$name --export $R/$name-export" | tr '\n' ' ' > "$O/$name.cmd"
if [ ! -f "$R/$name-export/codec.json" ]; then
  # shellcheck disable=SC2086
  PYTHONPATH="$PWD" FASDIFF_SHARED=/work/shared OPENBLAS_NUM_THREADS=1 /work/main/.venv/bin/fasdiff-lite train fasdiff \
    $BASE $extra --out "$R/$name" --export "$R/$name-export" > "$R/$name.log" 2>&1 || { echo "$name: failed"; exit 1; }
fi
measure_ci "$O" "$name" --codec "$R/$name-export"
