#!/bin/bash
# session 21: the rest of the p19-id recipe's ablation table, and f21-idall (every part, identity 1.0). Each:
# benchmarks/decoder_ci.py (checkpoints/measure_ci.bash).
source "$(dirname "$0")/../measure_ci.bash"
cd /tmp/m21 || exit 1
R=/work/main/runs
for m in "$@"; do
  case $m in
    f20-plain) measure_ci $R/measure21 $m --codec $R/p19-id-export --against $R/f20-plain-export ;;
    f20-fusion) measure_ci $R/measure21 $m --codec $R/p19-id-export --against $R/f20-nofusion-export ;;
    f21-vs-xfid) measure_ci $R/measure21 $m --codec $R/f21-idall-export ;;
    f21-vs-p19) measure_ci $R/measure21 $m --codec $R/f21-idall-export --against $R/p19-id-export ;;
    f21-r05) measure_ci $R/measure21 $m --codec $R/f21-idall-export --realism 0.5 ;;
    f21id3-vs-xfid) measure_ci $R/measure21 $m --codec $R/f21-id3-export ;;
    f21-lfe) measure_ci $R/measure21 $m --codec $R/f21-idall-export --against $R/f21-nolfe-export ;;
    f21-plain) measure_ci $R/measure21 $m --codec $R/f21-idall-export --against $R/f21-plain-export ;;
    f21id3-vs-f21) measure_ci $R/measure21 $m --codec $R/f21-id3-export --against $R/f21-idall-export ;;
    *) echo "unknown measurement $m" >&2; exit 2 ;;
  esac
done
