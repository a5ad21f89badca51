#!/bin/bash
# session 27: probes on the shipped codec's open lines (issue 28: re-id at rate 0.15, detail / FD / verification at 0).
# band-utk: the LFE correction's band at decode (benchmarks/decode_knobs.py --knob band) on UTKFace's validation faces
# (the shipped band 2:0.25 and four others, decode only). utk600: the shipped codec against its x_fid on 600 of
# UTKFace's 1,000 validation faces (never trained on) at rates 0-0.3: are the FD and re-id gaps of the 129 shared
# faces the codec's, or those faces'?
#   nice -n 19 checkpoints/measure27/run.sh NAME...
source "$(dirname "$0")/../measure_ci.bash"
measure_in 27
knobs() {  # knobs NAME FACES KNOB VALUES...: decode_knobs on v25-full at rates 0 / 0.1 / 0.15
  local name=$1 faces=$2 knob=$3; shift 3
  measure_cmd "$O" "$name" /work/main/.venv/bin/python benchmarks/decode_knobs.py "$R/v25-full-export" --knob "$knob" \
    --values "$@" --rates 0 0.1 0.15 --faces "$faces" --json "$O/$name.json"
}
for m in "$@"; do
  case $m in
    band-utk) knobs $m utkface band 2:0.25 3:0.125 2:0.125 1:0.5 1:0.35 ;;
    utk600) measure_cmd "$O" "$m" /work/main/.venv/bin/python benchmarks/decode_knobs.py "$R/v25-full-export" --knob band \
      --values 2:0.25 --rates 0 0.1 0.15 0.2 0.3 --faces utkface --n 600 --json "$O/$m.json" ;;
    band600-r0) measure_cmd "$O" "$m" /work/main/.venv/bin/python benchmarks/decode_knobs.py "$R/v25-full-export" \
      --knob band --values 2:0.3 2:0.35 1:0.25 --rates 0 --faces utkface --n 600 --json "$O/$m.json" ;;  # rate 0's FD
    steps600-r0-*) measure_cmd "$O" "$m" /work/main/.venv/bin/python benchmarks/decode_knobs.py "$R/v25-full-export" \
      --knob band --values 2:0.25 --steps "${m##*-}" --rates 0 --faces utkface --n 600 --json "$O/$m.json" ;;  # more steps
    realism600-r0) measure_cmd "$O" "$m" /work/main/.venv/bin/python benchmarks/decode_knobs.py "$R/v25-full-export" \
      --knob realism --values 0.5 0.75 --rates 0 --faces utkface --n 600 --json "$O/$m.json" ;;  # less redrawn
    rates-v25-nolfe) measure_cmd "$O" "$m" /work/main/.venv/bin/fasdiff-lite eval \
      --pairs /work/shared/faces/celeba_identity/pairs.txt --codecs "$R/v25-nolfe-export" --rates 0 0.3 --threads 1 \
      --out "$R/verification25x" ;;  # fasdiff-nolfe's verification at the sweep's other rates (then measure26/rows.py)
    lfe600) measure_script "$O" "$m" decoder_ci.py --codec "$R/v25-full-export" --against "$R/v25-nolfe-export" \
      --face-set utkface --faces 600 --rates 0 0.1 0.15 0.2 --threads 1 ;;  # the LFE's share on 600 UTKFace faces
    prior600) measure_script "$O" "$m" decoder_ci.py --codec "$R/v25-full-export" --against "$R/v25-oldprior-export" \
      --face-set utkface --faces 600 --rates 0 0.1 0.2 --threads 1 ;;  # the bigger prior's share, the same
    r0-*) measure_cmd "$O" "$m" /work/main/.venv/bin/python benchmarks/decode_knobs.py "$R/${m#r0-}-export" --knob band \
      --values 2:0.25 --rates 0 --faces utkface --n 600 --json "$O/$m.json" ;;  # a probe at rate 0 on 600 UTKFace faces
    nolfe600) measure_script "$O" "$m" decoder_ci.py --codec "$R/v25-nolfe-export" --face-set utkface --faces 600 \
      --rates 0 0.1 0.15 0.2 0.3 --threads 1 ;;  # fasdiff-nolfe against its x_fid on 600 UTKFace faces
    halves600) measure_cmd "$O" "$m" /work/main/.venv/bin/python benchmarks/decode_knobs.py "$R/v25-full-export" \
      --knob lfe --values film correction --rates 0 0.1 --faces utkface --n 600 --json "$O/$m.json" ;;  # which half
    halves-shared) measure_cmd "$O" "$m" /work/main/.venv/bin/python benchmarks/decode_knobs.py "$R/v25-full-export" \
      --knob lfe --values film correction --rates 0 0.1 --json "$O/$m.json" ;;  # the same on the shared 129
    *) echo "unknown measurement $m" >&2; exit 2 ;;
  esac
done
