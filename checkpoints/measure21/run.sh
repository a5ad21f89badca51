#!/bin/bash
# session 21: the rest of the p19-id recipe's ablation table, and f21-idall (every part, identity 1.0)
cd /tmp/m21
R=/work/main/runs
for m in "$@"; do
  case $m in
    f20-plain) args="--codec $R/p19-id-export --against $R/f20-plain-export" ;;
    f20-fusion) args="--codec $R/p19-id-export --against $R/f20-nofusion-export" ;;
    f21-vs-xfid) args="--codec $R/f21-idall-export" ;;
    f21-vs-p19) args="--codec $R/f21-idall-export --against $R/p19-id-export" ;;
    f21-r05) args="--codec $R/f21-idall-export --realism 0.5" ;;
    f21id3-vs-xfid) args="--codec $R/f21-id3-export" ;;
    f21-lfe) args="--codec $R/f21-idall-export --against $R/f21-nolfe-export" ;;
    f21-plain) args="--codec $R/f21-idall-export --against $R/f21-plain-export" ;;
    f21id3-vs-f21) args="--codec $R/f21-id3-export --against $R/f21-idall-export" ;;
  esac
  [ -f $R/measure21/$m.md ] && continue
  while [ ! -f "$(echo $args | awk '{print $2}')/codec.json" ]; do sleep 60; done
  a=$(echo $args | awk '{print $4}'); [ -n "$a" ] && while [ ! -f "$a/codec.json" ]; do sleep 60; done
  echo "$m: starting $(date -u +%H:%M)"
  PYTHONPATH=/tmp/m21 FASDIFF_SHARED=/work/shared OPENBLAS_NUM_THREADS=1 /work/main/.venv/bin/python benchmarks/decoder_ci.py $args \
    --rates 0 0.1 0.15 0.2 0.3 --threads 1 --json $R/measure21/$m.json > $R/measure21/$m.tmp 2> $R/measure21/$m.log \
    && mv $R/measure21/$m.tmp $R/measure21/$m.md
  echo "$m: finished $(date -u +%H:%M)"
done
