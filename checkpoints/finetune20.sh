#!/bin/bash
# Issue 28, after the reship: session 19's identity-weighted fine-tune (`p19-id`, FaSDiff card "Session 19") for every
# ablation, so that the ablation table can be measured on that recipe too. p19-id is d28-full + this fine-tune; these
# are the others: each d28 run's decoder (and fusion) trained 1,200 more steps on 150 cached batches of its own few-step
# latents (the control, the LFE and the prior frozen), the identity term at 1.0. A queue, like decoders28.sh.
#
#   nohup checkpoints/finetune20.sh run > runs/finetune20.log 2>&1 &    # WORKERS=1 for one lane (default 2)
#   checkpoints/finetune20.sh save | status | commands
#
#   f20-nolfe     from d28-nolfe (the LFE's share against p19-id)   f20-plain     from d28-plain
#   f20-oldprior  from d28-oldprior (the bigger prior's share)      f20-nofusion  from d28-nofusion (decoder only:
#                                                                                  it has no fusion)
#   f21-idall     from p19-id, every part trained (the control and the LFE too, through the sampler steps, no latent
#                 cache) at the same identity weight: does the identity term reach what the prior draws at realism 1?
#   f21-id3       from f21-idall, the same with the identity weight at 3 and the rates drawn as u² (--rate-power 2:
#                 more steps at the low rates, where the person is lost)
#   f21-nolfe, f21-plain, f21-oldprior, f21-nofusion: f21-idall's stage for each ablation, from its f20 run (every part
#                 the variant has), so that the table can be measured on that recipe too
#
#   f22-idproxy   from f21-idall, its recipe against the session-22 identity proxy (identity22: trained on FaSDiff
#                 decodes too, whole-face batches; pipeline28.sh's stage identity22) instead of identity28
#   f22b-idproxy  the same against identity22b (identity22 trained on to 4,800 steps: follows dlib closer)
#   f23-refresh   f22b-idproxy with the proxy refreshed on dlib's view of the decodes every 2 steps (--id-refresh 2:
#                 a decoder trained against a frozen proxy pleased it where dlib disagreed), 600 steps (a probe)
#   f24-gen       from f21-idall, with x_gen itself asked for the person: the gen term at weight 1 over the pixel
#                 share the fused face is asked (--gen-pixel 1; it was the low-pass at 0.1) and the identity term on
#                 x_gen (--gen-id-weight 1). Session 23 found x_gen of f21-idall re-identifying 0.19 at rate 0.1
#                 (x_fid 0.52): the steered prior did not keep the person; the fusion did (benchmarks/prior_share.py)
#   f24-oldprior  the same from f21-oldprior, on the 680-face prior: the bigger prior's share on that recipe
#   f24b-gen      f24-gen trained 1,200 steps more on the same recipe (its x_gen was still improving at 1,200)
#   f25-latent    f24b-gen's stage with the sampler's latent asked to be the original's (--latent-weight 1: the VAE
#                 decodes the original's own latent at 31 dB, re-id 1.00; f24-gen's x_gen re-identified 0.24 at 0.1)
#   f26-x0        from f25-latent, the steering alone (control, LFE), on its denoising only: the paper's ε-loss and the
#                 x0 term (--x0-weight 1: the clean latent the steered denoiser implies at the decode's own timesteps;
#                 no decode a step, no decoded-face term), 2,000 steps of 24 faces. Session 24: f25's first step at
#                 realism 1 (t = 999) implied a latent 1.55 from the original's (z_fid: 0.13 at rate 0.5)
#   f26b-x0       from f26-x0, f24-gen's recipe (every part; x_gen asked for the person) with the x0 term kept on
#   f27-frozen    from f26-x0, the steering alone, judged on its latent through the prior's frozen VAE decoder (--gen-frozen:
#                 the gen terms at pixel share 1, identity, detail; the x0 term; no fused-face term). Session 24: the
#                 codec's decoder met every gen term (it drew the detail, at 0.1 re-id) and the latents stayed blurry
#   f28-fuse      from f27-frozen, its decoder and fusion on 150 cached batches of its latents (the f20 stage): the
#                 decoder and the fusion learn the sharper x_gen the steering now draws
#   f29-vaefuse   from f27-frozen, its decoder reset to the prior's VAE decoder (--init-parts control,lfe,fusion) and
#                 kept there, the fusion alone trained on cached latents: the fusion sees the steering's own face
#                 (f28's fine-tuned decoder lost 0.12-0.16 re-id against the VAE on the same latents)
#
#   checkpoints/finetune20.sh one RUN    # one run by itself, beside a queue already running (not in its ORDER)
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS="$ROOT/runs"
TREE=/tmp/finetune20
ORDER="f20-nolfe f20-oldprior f20-plain f20-nofusion f21-idall f21-id3 f21-nolfe f21-plain f21-oldprior f21-nofusion f22-idproxy f22b-idproxy f23-refresh f24-gen f24-oldprior f24b-gen f25-latent f26-x0 f26b-x0 f27-frozen f28-fuse f29-vaefuse"
CLAIMS="$RUNS/finetune20.claims"

start_of() { case $1 in f21-idall) echo p19-id ;; f24-oldprior) echo f21-oldprior ;; f24b-gen|f25-latent) echo f24-gen ;; f26-x0) echo f25-latent ;; f26b-x0|f27-frozen) echo f26-x0 ;; f28-fuse|f29-vaefuse) echo f27-frozen ;; f21-id3|f22-*|f22b-*|f23-*|f24-*) echo f21-idall ;; f21-*) echo "f20-${1#f21-}" ;; *) echo "d28-${1#f20-}" ;; esac; }  # the run a fine-tune starts from
CACHE="--latent-cache 150"  # the control and the LFE frozen: their few-step latents computed once

args_of() {  # a run's own flags (after the recipe's: where both set one, the run's wins)
  local from="$RUNS/$(start_of "$1")-export"
  local every="--variant fasdiff --prior $RUNS/prior28 --init $from --train-parts control,lfe,decoder,fusion"  # f21-idall's
  case $1 in
    f20-nolfe) echo "$CACHE --variant fasdiff-nolfe --prior $RUNS/prior28 --init $from --train-parts decoder,fusion" ;;
    f20-plain) echo "$CACHE --variant fasdiff-plain --prior $RUNS/prior28 --init $from --train-parts decoder,fusion" ;;
    f20-nofusion) echo "$CACHE --variant fasdiff --prior $RUNS/prior28 --init $from --train-parts decoder" ;;
    f20-oldprior) echo "$CACHE --variant fasdiff --prior $ROOT/checkpoints/prior-tiny-680 --init $from --train-parts decoder,fusion" ;;
    f21-idall) echo "$every" ;;
    f21-id3) echo "$every --id-weight 3 --rate-power 2" ;;
    f21-nolfe) echo "--variant fasdiff-nolfe --prior $RUNS/prior28 --init $from --train-parts control,decoder,fusion" ;;
    f21-plain) echo "--variant fasdiff-plain --prior $RUNS/prior28 --init $from --train-parts control,decoder,fusion" ;;
    f21-oldprior) echo "--variant fasdiff --prior $ROOT/checkpoints/prior-tiny-680 --init $from --train-parts control,lfe,decoder,fusion" ;;
    f21-nofusion) echo "--variant fasdiff --prior $RUNS/prior28 --init $from --train-parts control,lfe,decoder" ;;
    f22-idproxy) echo "$every --identity $RUNS/identity22/export" ;;
    f22b-idproxy) echo "$every --identity $RUNS/identity22b/export" ;;
    f23-refresh) echo "$every --identity $RUNS/identity22b/export --id-refresh 2 --steps 600" ;;
    f24-gen|f24b-gen) echo "$every --gen-weight 1 --gen-pixel 1 --gen-id-weight 1" ;;
    f25-latent) echo "$every --gen-weight 1 --gen-pixel 1 --gen-id-weight 1 --latent-weight 1" ;;
    f26-x0) echo "${every/control,lfe,decoder,fusion/control,lfe} --x0-weight 1 --l1-weight 0 --hf-weight 0 --lf-weight 0 \
--detail-weight 0 --adv-weight 0 --id-weight 0 --gen-weight 0 --gen-detail-weight 0 --steps 2000 --batch-size 24" ;;
    f29-vaefuse) echo "$CACHE --variant fasdiff --prior $RUNS/prior28 --init $from --init-parts control,lfe,fusion --train-parts fusion" ;;
    f28-fuse) echo "$CACHE --variant fasdiff --prior $RUNS/prior28 --init $from --train-parts decoder,fusion" ;;
    f26b-x0) echo "$every --gen-weight 1 --gen-pixel 1 --gen-id-weight 1 --x0-weight 1" ;;
    f27-frozen) echo "${every/control,lfe,decoder,fusion/control,lfe} --gen-frozen --gen-weight 1 --gen-pixel 1 --gen-id-weight 1 \
--gen-detail-weight 1 --x0-weight 1 --l1-weight 0 --hf-weight 0 --lf-weight 0 --detail-weight 0 --adv-weight 0 --id-weight 0" ;;
    f24-oldprior) echo "${every/--prior $RUNS\/prior28/--prior $ROOT/checkpoints/prior-tiny-680} --gen-weight 1 --gen-pixel 1 --gen-id-weight 1" ;;
  esac
}


source "$ROOT/checkpoints/finetune.bash"  # the recipe and settings; seed, train_one, run
source "$ROOT/checkpoints/queue.bash"  # step_of, done_marker, status, save and the commands
queue_main "$@"
