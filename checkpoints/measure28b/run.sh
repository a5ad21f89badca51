#!/bin/bash
# session 28: the LFE without its output correction, and the ideas' shares on UTKFace's faces (issue 28).
#   v28-film       the v25 stage of steer25.sh for "full" (from s25-full: the fusion alone, 1,200 steps on 150 cached
#                  batches of the steering's latents) with --lfe-band none: the LFE's FiLM steers, no correction
#                  pastes x_fid's low band under the output (the shipped fasdiff's fusion was trained behind one)
#   film-shared / film-utk        v28-film against its x_fid (129 shared / 600 UTKFace validation faces, rates 0-0.3)
#   filmshare-shared / -utk       v28-film against v25-nolfe: the FiLM's share with no correction, equal bytes
#   corr-shared / corr-utk        v25-full against v28-film: the correction's share (each fusion trained behind its own)
#   wavelet600 / fusion600        the wavelet branch (v25-nolfe against v25-plain at equal bytes) and the fusion
#                                 (v25-full against itself without it) on 600 UTKFace faces, as measure26's rows
#   shared-RUN / utk-RUN          a probe (probe.sh) against its x_fid: the shared 129 at rates 0-0.3 / 600 UTKFace
#                                 faces at rates 0 and 0.1
# (filmshare-* and corr-* were paired again from film-*'s and earlier runs' per-face numbers: offline_pairs.py)
#   nice -n 19 checkpoints/measure28b/run.sh NAME...
source "$(dirname "$0")/../measure_ci.bash"
measure_in 28b
PY=/work/main/.venv/bin/python
utk() {  # utk NAME decoder_ci flags...: 600 UTKFace faces
  local name=$1; shift
  measure_script "$O" "$name" decoder_ci.py "$@" --face-set utkface --faces 600 --threads 1
}
for m in "$@"; do
  case $m in
    v28-film)
      if [ ! -f "$R/v28-film-export/codec.json" ]; then
        echo "v28-film: starting $(date -u +%H:%M)"
        PYTHONPATH="$PWD" FASDIFF_SHARED=/work/shared OPENBLAS_NUM_THREADS=1 /work/main/.venv/bin/fasdiff-lite train fasdiff \
          --faces utkface+shared --steps 1200 --batch-size 12 --lr 1e-4 --warmup 50 --multi-realism --split 1 \
          --detail-weight 1 --adv-weight 0.05 --adv-start 100 --id-weight 1.0 --identity "$R/identity28/export" \
          --gen-weight 0.1 --gen-detail-weight 1 --checkpoint-every 200 --threads 1 --latent-cache 150 \
          --variant fasdiff --prior "$R/prior28" --init "$R/s25-full-export" --init-parts control,lfe,fusion \
          --train-parts fusion --lfe-band none --out "$R/v28-film" --export "$R/v28-film-export" > "$R/v28-film.log" 2>&1 \
          || { echo "v28-film: failed"; exit 1; }
        echo "v28-film: finished $(date -u +%H:%M)"
      fi ;;
    film-shared) measure_ci "$O" "$m" --codec "$R/v28-film-export" ;;
    film-utk) utk "$m" --codec "$R/v28-film-export" --rates 0 0.1 0.15 0.2 0.3 ;;
    filmshare-shared) measure_ci "$O" "$m" --codec "$R/v28-film-export" --against "$R/v25-nolfe-export" ;;
    filmshare-utk) utk "$m" --codec "$R/v28-film-export" --against "$R/v25-nolfe-export" --rates 0 0.1 0.15 0.2 ;;
    corr-shared) measure_ci "$O" "$m" --codec "$R/v25-full-export" --against "$R/v28-film-export" ;;
    corr-utk) utk "$m" --codec "$R/v25-full-export" --against "$R/v28-film-export" --rates 0 0.1 0.15 0.2 ;;
    wavelet600) utk "$m" --codec "$R/v25-nolfe-export" --against "$R/v25-plain-export" --rates 0 0.1 0.15 0.2 \
      --against-rates 0.045 0.15 0.2 0.255 ;;  # measure26's equal-bytes rates (the shared faces'); bytes in its table
    fusion600)
      [ -f "$R/v25-nofusion-export/codec.json" ] || PYTHONPATH="$PWD" $PY /work/main/checkpoints/measure26/nofusion.py \
        "$R/v25-full-export" "$R/v25-nofusion-export"
      utk "$m" --codec "$R/v25-full-export" --against "$R/v25-nofusion-export" --rates 0 0.1 0.15 0.2 ;;
    shared-*) measure_ci "$O" "$m" --codec "$R/${m#shared-}-export" ;;  # a probe against its x_fid, the shared 129
    utk-*) utk "$m" --codec "$R/${m#utk-}-export" --rates 0 0.1 ;;  # the same on 600 UTKFace faces, rates 0 and 0.1
    *) echo "unknown measurement $m" >&2; exit 2 ;;
  esac
done
