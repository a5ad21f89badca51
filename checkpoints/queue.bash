# The queue the training scripts here share (decoders28.sh, finetune20.sh): sourced, not run. Each script sets ROOT,
# RUNS, PY, ORDER, STEPS and RECIPE and defines args_of (a run's own flags) and run; then `queue_main "$@"`.

step_of() { "$PY" -c "import json,sys; print(json.load(open(sys.argv[1] + '/checkpoint/progress.json'))['step'])" "$1" 2>/dev/null || echo 0; }
done_marker() { echo "$RUNS/$1-export/codec.json"; }

status() {
  for r in $ORDER; do
    if [ -f "$(done_marker "$r")" ]; then echo "$r: done (runs/$r-export)"
    elif [ -f "$RUNS/$r/checkpoint/progress.json" ]; then echo "$r: at step $(step_of "$RUNS/$r") of $STEPS"
    elif [ -f "$ROOT/checkpoints/$r/checkpoint/progress.json" ]; then echo "$r: at step $(step_of "$ROOT/checkpoints/$r") (committed only)"
    else echo "$r: not started"; fi
  done
}

save() {  # a finished run keeps only its export here (its training checkpoint is no longer needed to go on)
  for r in $ORDER; do
    if [ -f "$(done_marker "$r")" ]; then
      rm -rf "$ROOT/checkpoints/$r" && mkdir -p "$ROOT/checkpoints/$r/export"
      cp -r "$RUNS/$r-export/." "$ROOT/checkpoints/$r/export/"
    elif [ -f "$RUNS/$r/checkpoint/progress.json" ]; then
      "$PY" -c "import sys; sys.path.insert(0, sys.argv[3]); from fasdiff_lite.train import loop; print(loop.portable_checkpoint(sys.argv[1], sys.argv[2]))" \
        "$RUNS/$r" "$ROOT/checkpoints/$r" "$ROOT"
    fi
  done
}

claim() {  # take a run for this process (mkdir is atomic); the claim names its process, so a later start keeps it
  mkdir -p "$CLAIMS" && mkdir "$CLAIMS/$1" 2>/dev/null && echo "$BASHPID" > "$CLAIMS/$1/pid"
}

clear_claims() {  # at a start: forget the claims of processes that ended (a run still training elsewhere keeps its own)
  mkdir -p "$CLAIMS"
  local c
  for c in "$CLAIMS"/*/; do
    [ -d "$c" ] || continue
    local pid; pid=$(cat "$c/pid" 2>/dev/null)
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then rm -rf "$c"; fi
  done
}

worker() { for r in $ORDER; do claim "$r" && train_one "$r"; done; }

one() {  # a single run, beside a queue already running: claimed like the queue's, so neither trains it twice
  case " $ORDER " in *" $1 "*) ;; *) echo "$1: not a run of $0 ($ORDER)" >&2; exit 2 ;; esac
  if [ ! -d "$TREE" ]; then git -C "$ROOT" worktree add --detach "$TREE" HEAD >/dev/null; fi
  clear_claims
  if claim "$1"; then train_one "$1"; else echo "$1: already claimed ($CLAIMS/$1)"; fi
}

queue_main() {
  case "${1:-status}" in
    run) run ;;
    one) one "${2:?which run}" ;;
    commands) for r in $ORDER; do echo "$r: ${RECIPE[*]} $(args_of "$r") --out $RUNS/$r --export $RUNS/$r-export"; done ;;
    save) save ;;
    status) status ;;
    *) echo "usage: $0 run|one RUN|save|status|commands" >&2; exit 2 ;;
  esac
}
