# Shared by the sessions' measurement scripts (checkpoints/measure21/run.sh … measure24/run.sh): measure_in sets up;
# measure_script runs one benchmark into OUT/NAME.{md,json,log} (skipped when OUT/NAME.md exists); measure_ci is its
# benchmarks/decoder_ci.py table (the 129 held-out faces, rates 0-0.3, 4 steps, realism 1, one thread), started once
# the codecs it names are exported.
#   source checkpoints/measure_ci.bash; cd TREE; measure_ci OUT NAME --codec A [--against B] [more decoder_ci flags]
#   measure_script OUT NAME BENCHMARK.py [its flags]     (BENCHMARK.py under benchmarks/; --json is added)
#   measure_cmd OUT NAME COMMAND...                      (any command whose stdout is the table)
# measure_in SESSION: cd into a worktree of this checkout's HEAD at ${TREE:-/tmp/mSESSION} (made once) and set
# R (runs/) and O (runs/measureSESSION/, made): where a session's run.sh reads codecs and writes its tables
measure_in() {
  TREE=${TREE:-/tmp/m$1}
  [ -d "$TREE" ] || git -C /work/main worktree add --detach "$TREE" HEAD >/dev/null
  cd "$TREE" || exit 1
  R=/work/main/runs
  O=$R/measure$1
  mkdir -p "$O"
}

# measure_cmd OUT NAME COMMAND...: COMMAND's output into OUT/NAME.md (stderr: OUT/NAME.log; the .md appears only when
# it succeeds), skipped when OUT/NAME.md exists; run in this worktree with one thread and the shared faces
measure_cmd() {
  local out=$1 name=$2
  shift 2
  [ -f "$out/$name.md" ] && return 0
  echo "$name: starting $(date -u +%H:%M)"
  PYTHONPATH="$PWD" FASDIFF_SHARED=/work/shared OPENBLAS_NUM_THREADS=1 "$@" > "$out/$name.tmp" 2> "$out/$name.log" &&
    mv "$out/$name.tmp" "$out/$name.md"
  echo "$name: finished $(date -u +%H:%M)"
}

measure_script() {
  local out=$1 name=$2 bench=$3
  shift 3
  measure_cmd "$out" "$name" /work/main/.venv/bin/python "benchmarks/$bench" "$@" --json "$out/$name.json"
}

measure_ci() {
  local out=$1 name=$2
  shift 2
  [ -f "$out/$name.md" ] && return 0
  local prev=""
  for x in "$@"; do  # wait for every codec folder it names (--codec, --against) to be exported
    case $prev in --codec|--against) while [ ! -f "$x/codec.json" ]; do sleep 60; done ;; esac
    prev=$x
  done
  measure_script "$out" "$name" decoder_ci.py "$@" --rates 0 0.1 0.15 0.2 0.3 --threads 1
}
