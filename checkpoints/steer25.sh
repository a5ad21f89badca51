#!/bin/bash
# Issue 28, session 25: the two stages that gave the best decoder so far (f27-frozen then f29-vaefuse, finetune20.sh),
# as one recipe for every ablation, and the main line trained on from f29-vaefuse.
#
#   s25-VARIANT   from f21-VARIANT (f21-idall for "full"): the steering alone (the control, and the LFE where the
#                 variant has one), its gen terms judged through the prior's frozen VAE decoder (--gen-frozen) and the
#                 x0 term; no fused-face term (f27-frozen's flags; f27 started from f26-x0, these from the f21 stage)
#   v25-VARIANT   from s25-VARIANT: the decoder reset to the prior's VAE decoder and kept there (--init-parts without
#                 decoder), the fusion alone trained on 150 cached batches of the steering's latents (f29-vaefuse's)
#   f30-steerfuse from f29-vaefuse: the steering and the fusion together, the decoder held at the VAE's; the gen terms on
#                 the steering (--gen-frozen), the fused-face terms of the recipe on the steering and the fusion; 1,500
#                 steps. Session 24: f29's x_gen held re-id 0.380 at rate 0.1 (x_fid 0.535) and its fused face lost
#                 0.054 re-id to x_fid there; its steering never saw the fused face
#
#   nohup checkpoints/steer25.sh run > runs/steer25.log 2>&1 &    # WORKERS=1 for one lane (default 2)
#   checkpoints/steer25.sh one RUN | save | status | commands
# No "nofusion" run: without a fusion the v25 stage has nothing to train (its decoder is the VAE's); the fusion's share
# is v25-full against itself with the fusion removed (checkpoints/measure26/nofusion.py). The v25 runs shipped in session 26.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS="$ROOT/runs"
TREE=/tmp/steer25
ORDER="f30-steerfuse s25-full s25-nolfe v25-full v25-nolfe s25-oldprior s25-plain v25-oldprior v25-plain"
CLAIMS="$RUNS/steer25.claims"
GEN="--gen-frozen --gen-weight 1 --gen-pixel 1 --gen-id-weight 1 --gen-detail-weight 1 --x0-weight 1"
FUSED_OFF="--l1-weight 0 --hf-weight 0 --lf-weight 0 --detail-weight 0 --adv-weight 0 --id-weight 0"

start_of() {  # the run a fine-tune starts from
  case $1 in
    f30-steerfuse) echo f29-vaefuse ;;
    s25-full) echo f21-idall ;;
    s25-*) echo "f21-${1#s25-}" ;;
    v25-*) echo "s25-${1#v25-}" ;;
  esac
}

variant_of() {  # --variant, --prior and the steering's parts of a row
  case ${1#?25-} in
    full) echo "--variant fasdiff --prior $RUNS/prior28|control,lfe" ;;
    nolfe) echo "--variant fasdiff-nolfe --prior $RUNS/prior28|control" ;;
    plain) echo "--variant fasdiff-plain --prior $RUNS/prior28|control" ;;
    oldprior) echo "--variant fasdiff --prior $ROOT/checkpoints/prior-tiny-680|control,lfe" ;;
  esac
}

args_of() {
  local from="$RUNS/$(start_of "$1")-export" v
  case $1 in
    f30-steerfuse) echo "--variant fasdiff --prior $RUNS/prior28 --init $from --train-parts control,lfe,fusion $GEN --steps 1500" ;;
    s25-*) v=$(variant_of "$1"); echo "${v%|*} --init $from --train-parts ${v#*|} $GEN $FUSED_OFF" ;;
    v25-*) v=$(variant_of "$1"); echo "--latent-cache 150 ${v%|*} --init $from --init-parts ${v#*|},fusion --train-parts fusion" ;;
  esac
}

source "$ROOT/checkpoints/finetune.bash"  # the recipe and settings; seed, train_one, run
source "$ROOT/checkpoints/queue.bash"  # step_of, done_marker, status, save and the commands
queue_main "$@"
