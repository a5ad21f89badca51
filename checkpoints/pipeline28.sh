#!/bin/bash
# Issue 28's long jobs, in order, each resumed where it stopped (see README.md here, "Issue 28's pipeline").
#
#   checkpoints/pipeline28.sh run     # from the repository root: nohup checkpoints/pipeline28.sh run > runs/pipeline28.log 2>&1 &
#   checkpoints/pipeline28.sh save    # before a session ends: every run's portable checkpoint into checkpoints/
#   checkpoints/pipeline28.sh status  # where each stage stands
#
# A stage is done when its output exists; otherwise it resumes from runs/<stage> (or, on a fresh machine, from the
# portable checkpoint committed under checkpoints/<stage>). Code runs from a git worktree of the commit the pipeline
# started on (/tmp/pipeline28), so editing the checkout never changes a running job. One torch thread per job
# (FASDIFF_THREADS to change it); needs ../shared/faces.
set -uo pipefail  # not -e: a failed measurement is reported and the next stage still runs
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS="$ROOT/runs"
SHARED="${FASDIFF_SHARED:-$(cd "$ROOT/.." && pwd)/shared}"
THREADS="${FASDIFF_THREADS:-1}"
PY="$ROOT/.venv/bin/python"
CLI="$ROOT/.venv/bin/fasdiff-lite"
TREE=/tmp/pipeline28
STAGES="vae28 unet28 identity28 identity22 identity22b"

in_tree() {  # run a command from the worktree, with its code first on the path
  (cd "$TREE" && PYTHONPATH="$TREE" FASDIFF_SHARED="$SHARED" "$@")
}

seed_run() {  # runs/<stage> from checkpoints/<stage> when this machine has none (its export too, once committed)
  local stage=$1
  if [ ! -f "$RUNS/$stage/checkpoint/progress.json" ] && [ -f "$ROOT/checkpoints/$stage/checkpoint/progress.json" ]; then
    mkdir -p "$RUNS/$stage" && cp -r "$ROOT/checkpoints/$stage/checkpoint" "$RUNS/$stage/"
    echo "$stage: resumed from the committed checkpoint (step $(step_of "$RUNS/$stage"))"
  fi
  local export_dir
  export_dir="$(dirname "$(export_marker "$stage")")"
  if [ ! -e "$(export_marker "$stage")" ] && [ -d "$ROOT/checkpoints/$stage/export" ]; then
    mkdir -p "$export_dir" && cp -r "$ROOT/checkpoints/$stage/export/." "$export_dir/"
    echo "$stage: its committed export copied to $export_dir"
  fi
  local measured
  measured="$ROOT/checkpoints/$stage/$(basename "$(done_file "$stage")")"
  if [ ! -f "$(done_file "$stage")" ] && [ -f "$measured" ]; then cp "$measured" "$(done_file "$stage")"; fi
}

export_marker() {  # the file a finished training writes last: its export is complete
  case $1 in
    vae28) echo "$RUNS/vae28/export/train_autoencoder.json" ;;
    unet28) echo "$RUNS/prior28/train_prior.json" ;;
    identity28) echo "$RUNS/identity28/export/config.json" ;;
    identity22) echo "$RUNS/identity22/export/config.json" ;;
    identity22b) echo "$RUNS/identity22b/export/config.json" ;;
  esac
}

step_of() { "$PY" -c "import json,sys; print(json.load(open(sys.argv[1] + '/checkpoint/progress.json'))['step'])" "$1" 2>/dev/null || echo 0; }

done_file() {
  case $1 in
    vae28) echo "$RUNS/vae28/ceiling.md" ;;
    unet28) echo "$RUNS/prior28/samples.md" ;;
    identity28) echo "$RUNS/identity28/export/config.json" ;;
    identity22) echo "$RUNS/identity22/export/config.json" ;;
    identity22b) echo "$RUNS/identity22b/export/config.json" ;;
  esac
}

stage_vae28() {
  [ -f "$(export_marker vae28)" ] || in_tree "$CLI" train autoencoder --faces utkface+shared --steps 12000 --batch-size 16 --lr 1e-3 --adv-weight 0.05 \
    --adv-start 2000 --threads "$THREADS" --checkpoint-every 250 --out "$RUNS/vae28" --export "$RUNS/vae28/export"
  in_tree "$PY" benchmarks/vae_ceiling.py --vae "$RUNS/vae28/export/vae/diffusion_pytorch_model.safetensors" \
    > "$RUNS/vae28/ceiling.tmp" 2> "$RUNS/vae28/ceiling.log" && mv "$RUNS/vae28/ceiling.tmp" "$RUNS/vae28/ceiling.md" \
    || echo "vae28: the ceiling measurement failed (see ceiling.log)"
}

stage_unet28() {
  [ -f "$(export_marker unet28)" ] || in_tree "$CLI" train prior --vae "$RUNS/vae28/export" --faces utkface+shared --steps 30000 --threads "$THREADS" \
    --checkpoint-every 500 --out "$RUNS/unet28" --export "$RUNS/prior28"
  in_tree "$PY" benchmarks/prior_samples.py --prior "$RUNS/prior28" --train-faces utkface+shared --threads "$THREADS" \
    > "$RUNS/prior28/samples.tmp" 2> "$RUNS/prior28/samples.log" && mv "$RUNS/prior28/samples.tmp" "$RUNS/prior28/samples.md" \
    || echo "unet28: the sample measurement failed (see samples.log)"
}

stage_identity28() {
  # 4,000 faces × 6 views: dlib describes each view once for the cache (90 ms a view here: about 36 min)
  in_tree "$CLI" train identity --faces utkface+shared --limit 4000 --views 6 --threads "$THREADS" --checkpoint-every 250 \
    --out "$RUNS/identity28" --export "$RUNS/identity28/export"
}

identity22_train() {  # the recipe identity22 and identity22b share; the caller adds --out/--export (and --steps)
  in_tree "$CLI" train identity --faces utkface+shared --limit 6000 --views 5 --decoders "$RUNS/f21-idall-export" fasdiff \
    --decoder-max-rate 0.5 --workers 2 --by-face --same-weight 2 --threads 2 --checkpoint-every 250 "$@"
}

stage_identity22() {
  # the proxy on 6,000 faces × 5 views, two of them FaSDiff decodes (f21-idall's and the shipped codec's, rates
  # U[0, 0.5]), batches of whole faces with the same-face pairwise term (session 22): the cache (decodes, and dlib in
  # two processes) took 35 min, the training 15. Needs f21-idall's export (checkpoints/f21-idall/export).
  [ -e "$RUNS/f21-idall-export" ] || cp -r "$ROOT/checkpoints/f21-idall/export" "$RUNS/f21-idall-export"
  identity22_train --out "$RUNS/identity22" --export "$RUNS/identity22/export"
}

stage_identity22b() {
  # identity22 trained on from its step 2,400 to 4,800 (its held-out pair correlation was still rising), same cache
  mkdir -p "$RUNS/identity22b"
  [ -f "$RUNS/identity22b/checkpoint/progress.json" ] || cp -r "$RUNS/identity22/checkpoint" "$RUNS/identity22b/"
  [ -f "$RUNS/identity22b/cache.npz" ] || ln "$RUNS/identity22/cache.npz" "$RUNS/identity22b/cache.npz" 2>/dev/null \
    || cp "$RUNS/identity22/cache.npz" "$RUNS/identity22b/cache.npz" 2>/dev/null || true
  identity22_train --steps 4800 --out "$RUNS/identity22b" --export "$RUNS/identity22b/export"
}

status() {
  for s in $STAGES; do
    if [ -f "$(done_file $s)" ]; then echo "$s: done ($(done_file $s))"
    elif [ -f "$RUNS/$s/checkpoint/progress.json" ]; then echo "$s: at step $(step_of "$RUNS/$s") (runs/$s)"
    elif [ -f "$ROOT/checkpoints/$s/checkpoint/progress.json" ]; then echo "$s: at step $(step_of "$ROOT/checkpoints/$s") (committed only)"
    else echo "$s: not started"; fi
  done
}

save() {  # each run's portable checkpoint, and each finished export (fp16 weights, a few MB), under checkpoints/
  for s in $STAGES; do
    if [ -f "$RUNS/$s/checkpoint/progress.json" ] && [ ! -f "$(export_marker $s)" ]; then  # a finished run: its export
      "$PY" -c "import sys; sys.path.insert(0, sys.argv[3]); from fasdiff_lite.train import loop; print(loop.portable_checkpoint(sys.argv[1], sys.argv[2]))" \
        "$RUNS/$s" "$ROOT/checkpoints/$s" "$ROOT"
      echo "$s: step $(step_of "$ROOT/checkpoints/$s") saved"
    fi
    if [ -f "$(export_marker $s)" ]; then
      rm -rf "$ROOT/checkpoints/$s/export" && mkdir -p "$ROOT/checkpoints/$s/export"
      cp -r "$(dirname "$(export_marker $s)")/." "$ROOT/checkpoints/$s/export/"
      echo "$s: export saved ($(du -sh "$ROOT/checkpoints/$s/export" | cut -f1))"
    fi
    if [ -f "$(done_file $s)" ]; then cp "$(done_file $s)" "$ROOT/checkpoints/$s/"; fi  # the stage's measurement
  done
}

run() {
  if [ ! -d "$TREE" ]; then git -C "$ROOT" worktree add --detach "$TREE" HEAD >/dev/null; fi
  echo "code: $(git -C "$TREE" log --oneline -1)"
  for s in $STAGES; do
    if [ -f "$(done_file $s)" ]; then echo "$s: done"; continue; fi
    seed_run "$s"
    if [ -f "$(done_file $s)" ]; then echo "$s: done (measured elsewhere)"; continue; fi
    echo "$s: starting $(date -u +%H:%M)"
    "stage_$s"
    echo "$s: finished $(date -u +%H:%M)"
  done
}

case "${1:-status}" in
  run) run ;;
  save) save ;;
  status) status ;;
  *) echo "usage: $0 run|save|status" >&2; exit 2 ;;
esac
