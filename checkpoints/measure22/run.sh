#!/bin/bash
# session 22: f21-idall's remaining ablations (fusion, bigger prior), f22-idproxy / f22b-idproxy (f21-idall's recipe
# against the identity22 / identity22b proxies) and f23-refresh (identity22b refreshed on dlib while it trains). Each: benchmarks/decoder_ci.py (checkpoints/measure_ci.bash).
#   checkpoints/measure22/run.sh NAME...     (nice it beside training: nice -n 19 checkpoints/measure22/run.sh ...)
source "$(dirname "$0")/../measure_ci.bash"
TREE=${TREE:-/tmp/m21}
cd "$TREE" || exit 1
R=/work/main/runs
for m in "$@"; do
  case $m in
    f21-fusion) measure_ci $R/measure22 $m --codec $R/f21-idall-export --against $R/f21-nofusion-export ;;
    f21-prior) measure_ci $R/measure22 $m --codec $R/f21-idall-export --against $R/f21-oldprior-export ;;
    f22-vs-xfid) measure_ci $R/measure22 $m --codec $R/f22-idproxy-export ;;
    f22-vs-f21) measure_ci $R/measure22 $m --codec $R/f22-idproxy-export --against $R/f21-idall-export ;;
    f22b-vs-xfid) measure_ci $R/measure22 $m --codec $R/f22b-idproxy-export ;;
    f22b-vs-f21) measure_ci $R/measure22 $m --codec $R/f22b-idproxy-export --against $R/f21-idall-export ;;
    f23-vs-xfid) measure_ci $R/measure22 $m --codec $R/f23-refresh-export ;;
    f23-vs-f21) measure_ci $R/measure22 $m --codec $R/f23-refresh-export --against $R/f21-idall-export ;;
    *) echo "unknown measurement $m" >&2; exit 2 ;;
  esac
done
