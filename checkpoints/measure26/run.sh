#!/bin/bash
# session 26: the reship's measurements on steer25.sh's one recipe. The verification of the v25 rows at rates 0.1 /
# 0.2 (the 6,000 celeba_identity pairs, into runs/verification25x: the sweep where x_fid, hf-compressor, has per-pair
# distances at those rates; paired against x_fid with benchmarks/verification_ci.py), the fusion's share (v25-full
# against itself without the fusion: checkpoints/measure26/nofusion.py), v25-plain against v25-full, and the wavelet
# branch's share at equal bytes (v25-nolfe against v25-plain at the rates where its files are as large); rates-v25-full:
# v25-full's verification at the sweep's other rates (0, 0.3; -high: 0.5, 1; x_fid's rows there have no per-pair
# distances); wavelet-plain: v25-plain where its files are as large as v25-nolfe's at 0.1 / 0.2; slider-v25: v25-full's realism slider at rate 0.1 (benchmarks/realism_slider.py --fd).
#   nice -n 19 checkpoints/measure26/run.sh NAME...     (verifications one at a time: they share one rows file)
source "$(dirname "$0")/../measure_ci.bash"
measure_in 26
X=$R/verification25x
sweep() {  # sweep CODEC RATES...: the 6,000 pairs' verification of CODEC at RATES into $X (resumes its rows)
  local codec=$1; shift
  /work/main/.venv/bin/fasdiff-lite eval --pairs /work/shared/faces/celeba_identity/pairs.txt --codecs "$codec" \
    --rates "$@" --threads 1 --out "$X"
}
paired() {  # paired CODEC: its rates 0.1 / 0.2 into $X (the log), then CODEC − x_fid, paired (the table)
  sweep "$1" 0.1 0.2 >&2 && /work/main/.venv/bin/python benchmarks/verification_ci.py "$1" hf-compressor \
    --rows "$X/verification.json" --rates 0.1 0.2
}
verify() {  # verify NAME EXPORT, once EXPORT is there
  while [ ! -f "$2/codec.json" ]; do sleep 60; done
  measure_cmd "$O" "$1" paired "$2"
}
for m in "$@"; do
  case $m in
    nofusion) [ -f "$R/v25-nofusion-export/codec.json" ] ||
      PYTHONPATH="$PWD" /work/main/.venv/bin/python checkpoints/measure26/nofusion.py "$R/v25-full-export" "$R/v25-nofusion-export" ;;
    v25-fusion) measure_ci $O $m --codec $R/v25-full-export --against $R/v25-nofusion-export ;;
    v25-plain) measure_ci $O $m --codec $R/v25-full-export --against $R/v25-plain-export ;;
    v25-wavelet) measure_ci $O $m --codec $R/v25-nolfe-export --against $R/v25-plain-export \
      --against-rates 0.045 0.15 0.2 0.255 0.36 ;;  # the plain files as large as the HF ones (129 faces: 46-177 B)
    p26-id3) measure_ci $O $m --codec $R/p26-id3-export ;;  # probe: v25-full's fusion stage again, identity weight 3
    verify-v25-*) verify $m $R/${m#verify-}-export ;;
    rates-v25-full) measure_cmd $O $m sweep $R/v25-full-export 0 0.3 ;;  # the sweep's other rates (x_fid there: unpaired)
    rates-v25-full-high) measure_cmd $O $m sweep $R/v25-full-export 0.5 1 ;;
    wavelet-plain) measure_cmd $O $m sweep $R/v25-plain-export 0.15 0.255 ;;  # as large as v25-nolfe's at 0.1 / 0.2
    slider-v25) measure_cmd $O $m /work/main/.venv/bin/python benchmarks/realism_slider.py $R/v25-full-export --rate 0.1 \
      --faces 129 --realisms 0 0.1 0.25 0.5 0.75 1 --fd ;;  # the same files at each realism, with the FD
    *) echo "unknown measurement $m" >&2; exit 2 ;;
  esac
done
