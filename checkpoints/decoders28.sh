#!/bin/bash
# Issue 28, step 3: the decoders on the new prior, one recipe, two workers in parallel (one torch thread each).
#
#   checkpoints/decoders28.sh run     # nohup checkpoints/decoders28.sh run > runs/decoders28.log 2>&1 &
#   checkpoints/decoders28.sh save    # before a session ends: each run's portable checkpoint (and finished export)
#   checkpoints/decoders28.sh status
#   checkpoints/decoders28.sh commands  # each run's `fasdiff-lite train fasdiff` arguments, one line each (tests)
#
# Waits for the new prior (runs/prior28, from pipeline28.sh). Two workers take the runs in ORDER, each the next one no
# worker has claimed (a queue, not fixed lanes: three 3,000-step runs left for two lanes, so neither waits idle while
# the other has two to go). Each run resumes from runs/<run> or, on a fresh machine,
# from checkpoints/<run>; a run is done when its export exists. Code runs from a worktree of the commit the script
# started on (/tmp/decoders28). The runs, and the idea each ablates against d28-full:
#   d28-full      fasdiff on the new prior (the method: wavelet compressor, control, LFE, fusion)
#   d28-nolfe     without the LFE                      d28-plain     the hyperprior compressor, no LFE
#   d28-nofusion  without the fidelity fusion          d28-oldprior  on the 680-face prior (the bigger prior's share)
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS="$ROOT/runs"
SHARED="${FASDIFF_SHARED:-$(cd "$ROOT/.." && pwd)/shared}"
THREADS="${FASDIFF_THREADS:-1}"
STEPS="${DECODER_STEPS:-3000}"
PY="$ROOT/.venv/bin/python"
CLI="$ROOT/.venv/bin/fasdiff-lite"
TREE=/tmp/decoders28
ASSETS=fasdiff_lite/assets/fasdiff
ORDER="d28-full d28-nolfe d28-plain d28-nofusion d28-oldprior"
CLAIMS="$RUNS/decoders28.claims"  # one folder per run a worker has taken (queue.bash: claim, clear_claims)

# One recipe (see the FaSDiff card, "Session 15" and "Session 16"): every part trained through the 1–4 sampler steps,
# one decoder for the whole realism slider, the identity term with the proxy distilled on UTKFace, the low-pass of
# x_gen kept and the detail asked of x_gen too (session 16: without it the fusion drew the detail, not the prior).
RECIPE=(--faces utkface+shared --steps "$STEPS" --batch-size 12 --lr 2e-4 --multi-realism --split 1 --detail-weight 1
        --adv-weight 0.05 --adv-start 500 --id-weight 0.2 --identity "$RUNS/identity28/export" --gen-weight 0.1
        --gen-detail-weight 1 --checkpoint-every 250 --threads "$THREADS")

# --init: the codecs shipped before session 20's reship (git show 4c1c09d:fasdiff_lite/assets/fasdiff/...); since the
# reship ASSETS holds the d28 runs themselves, so a run restarted from step 0 would start elsewhere (a resumed one
# takes every trained part from its checkpoint)
args_of() {  # the run's own flags: its variant, prior and what it takes from the shipped codec
  case $1 in
    d28-full) echo "--variant fasdiff --prior $RUNS/prior28 --init $ASSETS/full --init-parts lfe,fusion" ;;
    d28-nolfe) echo "--variant fasdiff-nolfe --prior $RUNS/prior28 --init $ASSETS/nolfe --init-parts fusion" ;;
    d28-plain) echo "--variant fasdiff-plain --prior $RUNS/prior28 --init $ASSETS/plain --init-parts fusion" ;;
    d28-nofusion) echo "--variant fasdiff --prior $RUNS/prior28 --init $ASSETS/full --init-parts lfe" ;;
    # the 680-face prior, shipped as "tiny" until session 20 and kept since in checkpoints/prior-tiny-680
    d28-oldprior) echo "--variant fasdiff --prior $ROOT/checkpoints/prior-tiny-680 --init $ASSETS/full --init-parts lfe,fusion" ;;
  esac
}


train_one() {
  local r=$1
  if [ ! -f "$(done_marker "$r")" ] && [ -f "$ROOT/checkpoints/$r/export/codec.json" ]; then
    mkdir -p "$RUNS/$r-export" && cp -r "$ROOT/checkpoints/$r/export/." "$RUNS/$r-export/"  # finished elsewhere
  fi
  if [ -f "$(done_marker "$r")" ]; then echo "$r: done"; return; fi
  if [ ! -f "$RUNS/$r/checkpoint/progress.json" ] && [ -f "$ROOT/checkpoints/$r/checkpoint/progress.json" ]; then
    mkdir -p "$RUNS/$r" && cp -r "$ROOT/checkpoints/$r/checkpoint" "$RUNS/$r/"
    echo "$r: resumed from the committed checkpoint (step $(step_of "$RUNS/$r"))"
  fi
  echo "$r: starting $(date -u +%H:%M)"
  # shellcheck disable=SC2046
  (cd "$TREE" && PYTHONPATH="$TREE" FASDIFF_SHARED="$SHARED" "$CLI" train fasdiff "${RECIPE[@]}" $(args_of "$r") \
    --out "$RUNS/$r" --export "$RUNS/$r-export") > "$RUNS/$r.log" 2>&1 || echo "$r: failed (see runs/$r.log)"
  echo "$r: finished $(date -u +%H:%M)"
}


tree() {  # the worktree the runs use, and the identity proxy they read (from its committed export on a fresh machine)
  if [ ! -f "$RUNS/identity28/export/config.json" ] && [ -f "$ROOT/checkpoints/identity28/export/config.json" ]; then
    mkdir -p "$RUNS/identity28/export" && cp -r "$ROOT/checkpoints/identity28/export/." "$RUNS/identity28/export/"
  fi
  if [ ! -d "$TREE" ]; then git -C "$ROOT" worktree add --detach "$TREE" HEAD >/dev/null; fi
  echo "code: $(git -C "$TREE" log --oneline -1)"
}

run() {
  while [ ! -f "$RUNS/prior28/train_prior.json" ]; do sleep 120; done  # the new prior's export is complete
  tree
  clear_claims
  worker &
  worker &
  wait
}

source "$ROOT/checkpoints/queue.bash"  # step_of, done_marker, status, save and the commands
queue_main "$@"
