"""Measuring, for people and for machines (floor 4: uses the models, never used by them)::

    metrics        bpp, PSNR, SSIM, MS-SSIM, and the Fréchet distance between two sets of feature vectors
    realism        offline realism: the detail ratio (one face), the descriptor Fréchet distance (a set of faces)
    face_metrics   machine vision, offline: identity similarity, re-identification, detection, landmarks (dlib)
    verification   face verification as papers measure it: 10-fold accuracy, ROC AUC, TAR at FAR (LFW protocol)
    perceptual     optional LPIPS and FID/KID, skipped with a note where their packages or weights are missing
    baselines      JPEG / WebP / AVIF at a byte budget
    bdrate         the Bjøntegaard delta rate: one number per pair of rate–quality curves
    ablations      what one idea adds at equal bytes: paired-bootstrap differences of two decoders, table and figure
    prior_share    whose detail is it: a FaSDiff decode with the diffusion prior's face taken away
    run            every codec on the same faces at equal bytes (``fasdiff-lite eval``, notebook 08)

Import the file you need (``from fasdiff_lite.evaluation import metrics``); this package imports nothing itself.
"""

# One colour per codec in every plot of the suite (the RD plots of ``run`` and the notebook explorers alike).
CODEC_COLORS = {"hf-compressor": "C0", "hyperprior": "C1", "jpeg": "C2", "webp": "C3", "avif": "C4",
                "fasdiff": "C6", "fasdiff-nolfe": "C9", "fasdiff-plain": "C8"}
