"""train/autoencoder.py: the VAE's loss terms reach what they are said to train, the adversarial term included, and
the trainer takes UTKFace (the training split only)."""
import dataclasses

import pytest
import torch

from fasdiff_lite import settings
from fasdiff_lite.models.adversarial import PatchDiscriminator, discriminator_loss
from fasdiff_lite.train import autoencoder, loop

requires_shared = pytest.mark.skipif(settings.shared_dir() is None, reason="needs ../shared/faces")


def nonzero(grads) -> bool:
    return any(g is not None and g.abs().sum() > 0 for g in grads)


def test_the_adversarial_term_trains_the_vae_and_the_discriminator_step_only_the_discriminator():
    torch.manual_seed(0)
    vae, disc = autoencoder.build_vae(), PatchDiscriminator()
    x = torch.rand(2, 3, 64, 64)
    out = autoencoder.vae_loss(vae, x, 1e-4, 0.1, disc, adv_weight=1.0)
    enc, dec = list(vae.encoder.parameters()), list(vae.decoder.parameters())
    assert out["adv"].requires_grad
    assert nonzero(torch.autograd.grad(out["adv"], enc, retain_graph=True, allow_unused=True))
    assert nonzero(torch.autograd.grad(out["adv"], dec, retain_graph=True, allow_unused=True))
    # the discriminator's own loss sees the reconstruction detached: it cannot move the VAE
    d = discriminator_loss(disc(x), disc(out["recon"]))
    assert not nonzero(torch.autograd.grad(d, enc + dec, retain_graph=True, allow_unused=True))
    assert nonzero(torch.autograd.grad(d, list(disc.parameters()), allow_unused=True))
    off = autoencoder.vae_loss(vae, x, 1e-4, 0.1, disc, adv_weight=0.0)
    assert float(off["adv"]) == 0.0 and not off["adv"].requires_grad


def test_training_with_the_adversarial_term_checkpoints_the_discriminator(tmp_path):
    cfg = autoencoder.Config(faces="samples", steps=2, batch_size=2, adv_weight=0.1, out=str(tmp_path / "run"),
                             checkpoint_every=1, threads=1)
    vae, history, facts = autoencoder.train(cfg)
    assert facts["adv_weight"] == 0.1 and "adv" in history[-1] and "aux" in history[-1]
    assert (tmp_path / "run" / "checkpoint" / "discriminator.safetensors").exists()


@requires_shared
def test_utkface_training_faces_are_its_train_split_plus_the_shared_train_split():
    from fasdiff_lite import face_sets

    cfg = dataclasses.replace(autoencoder.Config(faces="utkface+shared").resolved(), limit=None)  # FAST mode limits
    faces = loop.training_faces(cfg)
    n_utk = len(face_sets.utkface_split_names("train"))
    assert faces.shape == (n_utk + 680, 64, 64, 3)
