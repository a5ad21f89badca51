# The fine-tune queues' recipe and steps (finetune20.sh, steer25.sh): sourced, not run. A script sets ROOT, RUNS, TREE,
# ORDER and CLAIMS and defines start_of (the run a fine-tune starts from) and args_of (its own flags, which win over the
# recipe's where both set one).
SHARED="${FASDIFF_SHARED:-$(cd "$ROOT/.." && pwd)/shared}"
THREADS="${FASDIFF_THREADS:-1}"
WORKERS="${WORKERS:-2}"
PY="$ROOT/.venv/bin/python"
CLI="$ROOT/.venv/bin/fasdiff-lite"
STEPS=1200

# p19-id's recipe (the FaSDiff card, "Session 19"), but for what each run starts from
RECIPE=(--faces utkface+shared --steps "$STEPS" --batch-size 12 --lr 1e-4 --warmup 50 --multi-realism
        --split 1 --detail-weight 1 --adv-weight 0.05 --adv-start 100 --id-weight 1.0 --identity "$RUNS/identity28/export"
        --gen-weight 0.1 --gen-detail-weight 1 --checkpoint-every 200 --threads "$THREADS")

seed() {  # what a run reads, from its committed copy on a fresh machine
  local src
  for src in identity28/export identity22/export identity22b/export "$(start_of "$1")-export"; do
    local kept="$ROOT/checkpoints/${src%-export}"
    case $src in identity*/export) kept="$ROOT/checkpoints/${src%/export}" ;; esac
    if [ ! -f "$RUNS/$src/config.json" ] && [ ! -f "$RUNS/$src/codec.json" ] && [ -d "$kept/export" ]; then
      mkdir -p "$RUNS/$src" && cp -r "$kept/export/." "$RUNS/$src/"
    fi
  done
  if [ ! -f "$(done_marker "$1")" ] && [ -f "$ROOT/checkpoints/$1/export/codec.json" ]; then
    mkdir -p "$RUNS/$1-export" && cp -r "$ROOT/checkpoints/$1/export/." "$RUNS/$1-export/"  # finished elsewhere
  fi
  if [ ! -f "$RUNS/$1/checkpoint/progress.json" ] && [ -f "$ROOT/checkpoints/$1/checkpoint/progress.json" ]; then
    mkdir -p "$RUNS/$1" && cp -r "$ROOT/checkpoints/$1/checkpoint" "$RUNS/$1/"
    echo "$1: resumed from the committed checkpoint (step $(step_of "$RUNS/$1"))"
  fi
}

train_one() {
  local r=$1
  seed "$r"
  if [ -f "$(done_marker "$r")" ]; then echo "$r: done"; return; fi
  if [ ! -f "$RUNS/$(start_of "$r")-export/codec.json" ]; then echo "$r: $(start_of "$r") is not exported yet"; return; fi
  local proxy
  proxy=$(args_of "$r" | sed -n 's/.*--identity \([^ ]*\).*/\1/p')
  if [ -n "$proxy" ] && [ ! -f "$proxy/config.json" ]; then echo "$r: its identity proxy $proxy is not trained yet"; return; fi
  echo "$r: starting $(date -u +%H:%M)"
  # shellcheck disable=SC2046
  (cd "$TREE" && PYTHONPATH="$TREE" FASDIFF_SHARED="$SHARED" "$CLI" train fasdiff "${RECIPE[@]}" $(args_of "$r") \
    --out "$RUNS/$r" --export "$RUNS/$r-export") > "$RUNS/$r.log" 2>&1 || echo "$r: failed (see runs/$r.log)"
  echo "$r: finished $(date -u +%H:%M)"
}


run() {
  if [ ! -d "$TREE" ]; then git -C "$ROOT" worktree add --detach "$TREE" HEAD >/dev/null; fi
  echo "code: $(git -C "$TREE" log --oneline -1)"
  clear_claims
  for _ in $(seq "$WORKERS"); do worker & done
  wait
}
