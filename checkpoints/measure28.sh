#!/bin/bash
# Issue 28, step 3's measurements, once decoders28.sh's runs are exported: two workers, one thread each, each taking
# the first measurement in ORDER whose exports are ready and that no worker has claimed; each measurement writes
# runs/measure28/<name>.md (and .json) and is skipped once that exists.
#
#   nohup checkpoints/measure28.sh run > runs/measure28.log 2>&1 &
#   checkpoints/measure28.sh status
#   checkpoints/measure28.sh save     # before a session ends: the finished measurements into checkpoints/measure28
#                                     # (a run on a new machine starts from them: nothing is measured twice)
#
# What each answers (150 held-out faces, 4 steps, realism 1 unless said; paired bootstrap, 95 % intervals):
#   full-vs-xfid       the done-when lines on realism and identity: d28-full against its own x_fid at every rate
#   lfe                the LFE's share: d28-full against d28-nolfe (the same compressor: equal bytes)
#   prior              the bigger prior's share: d28-full against d28-oldprior (the same compressor and recipe)
#   fusion             the fusion's share: d28-full against d28-nofusion
#   plain-vs-xfid      the plain diffusion codec against its own x_fid (the wavelet branch is a BD-rate question:
#                      fasdiff-plain spends fewer bytes at the same rate, so it is compared on curves, not pairs)
#   slider             realism 0…1 at rate 0.1: detail ratio, PSNR and descriptor FD (the monotone-slider line)
#   realism0.75, realism0.5
#                      d28-full against its x_fid at a lower realism (the middle of the slider, paired)
#   verify-full, verify-nolfe, verify-plain
#                      the 10-fold celeba_identity pairs (eval --codecs DIR): each run to be shipped at rates 0–1
#                      (about 16–40 min a row here: 6 rows each; since the session-20 reship under the shipped
#                      names, the same weights: rows measured before it under a folder's name were renamed)
#   verify-ablations   the same for d28-oldprior and d28-nofusion at rates 0.1 and 0.2 (verification_ci.py A B);
#                      both write runs/verification_celeba (sweeps can share a rows file), as WebP/AVIF's may
#   table              once all the others are done: the ablation table and figure (benchmarks/ablation_table.py: lfe,
#                      prior and fusion, with verification where the sweep has both codecs), runs/measure28/ablations.*
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS="$ROOT/runs"
OUT="$RUNS/measure28"
SHARED="${FASDIFF_SHARED:-$(cd "$ROOT/.." && pwd)/shared}"
PY="$ROOT/.venv/bin/python"
CLI="$ROOT/.venv/bin/fasdiff-lite"
TREE=/tmp/measure28
LOW="0 0.1 0.15 0.2 0.3"
ALL="0 0.1 0.15 0.2 0.3 0.5 1"
ORDER="full-vs-xfid slider lfe realism0.75 realism0.5 verify-full fusion plain-vs-xfid verify-nolfe verify-plain prior verify-ablations"
CLAIMS="$OUT/claims"  # one folder per measurement a worker has taken (mkdir is atomic); cleared by each `run`

export_of() { echo "$RUNS/$1-export"; }
shipped_of() { case $1 in full) echo fasdiff ;; *) echo "fasdiff-$1" ;; esac; }

command_of() {  # the measurement's command line, run from the worktree
  case $1 in
    full-vs-xfid) echo "$PY benchmarks/decoder_ci.py --codec $(export_of d28-full) --rates $ALL --threads 1 --json $OUT/$1.json" ;;
    lfe) echo "$PY benchmarks/decoder_ci.py --codec $(export_of d28-full) --against $(export_of d28-nolfe) --rates $LOW --threads 1 --json $OUT/$1.json" ;;
    prior) echo "$PY benchmarks/decoder_ci.py --codec $(export_of d28-full) --against $(export_of d28-oldprior) --rates $LOW --threads 1 --json $OUT/$1.json" ;;
    fusion) echo "$PY benchmarks/decoder_ci.py --codec $(export_of d28-full) --against $(export_of d28-nofusion) --rates $LOW --threads 1 --json $OUT/$1.json" ;;
    plain-vs-xfid) echo "$PY benchmarks/decoder_ci.py --codec $(export_of d28-plain) --rates $ALL --threads 1 --json $OUT/$1.json" ;;
    realism0.75|realism0.5) echo "$PY benchmarks/decoder_ci.py --codec $(export_of d28-full) --rates $LOW --realism ${1#realism} --threads 1 --json $OUT/$1.json" ;;
    slider) echo "$PY benchmarks/realism_slider.py $(export_of d28-full) --faces 150 --rate 0.1 --realisms 0 0.1 0.25 0.5 0.75 1 --fd" ;;
    # shipped since session 20 (the same weights): measured under the shipped names, so the rows go straight to the cards
    verify-full|verify-nolfe|verify-plain) echo "$CLI eval --pairs $SHARED/faces/celeba_identity/pairs.txt --codecs $(shipped_of "${1#verify-}") --rates 0 0.1 0.2 0.3 0.5 1 --threads 1 --out $RUNS/verification_celeba" ;;
    verify-ablations) echo "$CLI eval --pairs $SHARED/faces/celeba_identity/pairs.txt --codecs $(export_of d28-oldprior) $(export_of d28-nofusion) --rates 0.1 0.2 --threads 1 --out $RUNS/verification_celeba" ;;
    table) echo "$PY benchmarks/ablation_table.py --idea the-LFE=$OUT/lfe.json --idea the-bigger-prior=$OUT/prior.json --idea the-fusion=$OUT/fusion.json --sweep $RUNS/verification_celeba/verification.json --out $OUT" ;;
  esac
}

needs() {  # the exports a measurement reads
  case $1 in
    full-vs-xfid|slider|realism0.75|realism0.5) echo d28-full ;;
    lfe) echo "d28-full d28-nolfe" ;;
    prior) echo "d28-full d28-oldprior" ;;
    fusion) echo "d28-full d28-nofusion" ;;
    plain-vs-xfid) echo d28-plain ;;
    verify-full|verify-nolfe|verify-plain) echo "d28-${1#verify-}" ;;
    verify-ablations) echo "d28-oldprior d28-nofusion" ;;
    table) echo "d28-full d28-nolfe d28-oldprior d28-nofusion" ;;
  esac
}

ready() { for r in $(needs "$1"); do [ -f "$(export_of "$r")/codec.json" ] || return 1; done; }

measure() {
  local m=$1
  if [ -f "$OUT/$m.md" ]; then echo "$m: done"; return; fi
  echo "$m: starting $(date -u +%H:%M)"
  # shellcheck disable=SC2046
  (cd "$TREE" && PYTHONPATH="$TREE" FASDIFF_SHARED="$SHARED" $(command_of "$m")) > "$OUT/$m.tmp" 2> "$OUT/$m.log" \
    && mv "$OUT/$m.tmp" "$OUT/$m.md" || echo "$m: failed (see runs/measure28/$m.log)"
  echo "$m: finished $(date -u +%H:%M)"
}

worker() {  # until every measurement is done or claimed: the first ready, unclaimed one, else wait for exports
  while :; do
    local left=0 m
    for m in $ORDER; do
      [ -f "$OUT/$m.md" ] || [ -d "$CLAIMS/$m" ] && continue
      left=1
      if ready "$m" && mkdir "$CLAIMS/$m" 2>/dev/null; then measure "$m"; continue 2; fi
    done
    [ "$left" = 0 ] && return
    sleep 300
  done
}

KEPT="$ROOT/checkpoints/measure28"  # the finished measurements, committed (save)

save() {
  mkdir -p "$KEPT"
  for f in "$OUT"/*.md "$OUT"/*.json "$OUT"/*.npz; do [ -f "$f" ] && cp "$f" "$KEPT/"; done  # .npz: each face's numbers
  echo "saved: $(ls "$KEPT" | tr '\n' ' ')"
}

run() {
  mkdir -p "$OUT"
  for f in "$KEPT"/*.md "$KEPT"/*.json "$KEPT"/*.npz; do  # measured elsewhere: not again
    [ -f "$f" ] && [ ! -f "$OUT/$(basename "$f")" ] && cp "$f" "$OUT/"
  done
  # the sweep's committed rows: resumed, not re-measured (merged into a working copy that lacks some of them)
  if [ ! -f "$RUNS/verification_celeba/verification.json" ]; then
    mkdir -p "$RUNS/verification_celeba" && cp "$ROOT"/checkpoints/verification_celeba/verification* "$RUNS/verification_celeba/"
  else
    "$PY" "$ROOT/tools/ship.py" merge "$ROOT/checkpoints/verification_celeba/verification.json" "$RUNS/verification_celeba/verification.json"
  fi
  # the measurements run the newest code (the trainings keep theirs): the tree moves to this commit at each start
  if [ ! -d "$TREE" ]; then git -C "$ROOT" worktree add --detach "$TREE" HEAD >/dev/null
  else git -C "$TREE" checkout -q --detach "$(git -C "$ROOT" rev-parse HEAD)"; fi
  echo "code: $(git -C "$TREE" log --oneline -1)"
  rm -rf "$CLAIMS" && mkdir -p "$CLAIMS"
  worker &
  worker &
  wait
  measure table  # the ablation table and figure of the three ideas (shipped names: the reship checklist, step 4)
}

status() {
  for m in $ORDER table; do
    if [ -f "$OUT/$m.md" ]; then echo "$m: done ($OUT/$m.md)"
    elif ready "$m"; then echo "$m: ready (or running)"
    else echo "$m: waiting for $(needs "$m")"; fi
  done
}

case "${1:-status}" in
  run) run ;;
  status) status ;;
  save) save ;;
  *) echo "usage: $0 run|status|save" >&2; exit 2 ;;
esac
