"""Each term of ``FaSDiffCodec.training_loss`` reaches exactly the parts it is said to train, and nothing frozen.

The docstring of ``training_loss`` says: the diffusion loss trains the control and the LFE; every term on the decoded
face (L1, wavelet high-frequency, low-frequency consistency, detail, adversarial, identity) trains the control and the
LFE *through the few sampler steps*, and the codec's decoder and fidelity fusion after them; the term on the
diffusion's own face x_gen (``gen``) trains all of those but the fusion, which comes after x_gen. Until session 12 the
sampler ran under ``torch.no_grad`` and the decoded-face terms never reached the control or the LFE; a test that
looked at the sum of all terms passed anyway, because the diffusion loss alone moves them. So here each term is
back-propagated alone.

The trainable parts are perturbed away from their zero initialisation first (ControlNet's zero convolutions and the
LFE's zero FiLM pass no gradient to the layers before them at the start), so that a zero gradient means a cut path,
not an untrained layer.
"""
import pytest
import torch

from fasdiff_lite import frequency
from fasdiff_lite.models.adversarial import PatchDiscriminator
from fasdiff_lite.models.codec import FaSDiffCodec
from fasdiff_lite.models.compressor import CompressorConfig, HFCompressor
from fasdiff_lite.models.fusion import FidelityFusion
from fasdiff_lite.models.identity import IdentityNet
from fasdiff_lite.models.prior import TinyPrior

DECODED_TERMS = ("l1", "hf", "lf", "detail", "adv", "id")
STEERING = {"control", "lfe"}  # what the sampler steps carry gradients into


@pytest.fixture(scope="module")
def parts():
    torch.manual_seed(0)
    prior = TinyPrior.from_config().eval()
    compressor = HFCompressor(CompressorConfig(N=16, M=16)).eval()
    compressor.update(force=True)
    return prior, compressor


def perturbed_codec(prior, compressor, variant: str, anchor: str) -> FaSDiffCodec:
    torch.manual_seed(1)
    codec = FaSDiffCodec(compressor, prior, variant, fusion=FidelityFusion(rate_input=True, anchor=anchor))
    with torch.no_grad():
        for m in codec.trainable_modules().values():
            for p in m.parameters():
                p.add_(0.02 * torch.randn_like(p))
    return codec


def reached(codec: FaSDiffCodec, term: torch.Tensor) -> set[str]:
    """The trainable parts with a non-zero gradient from ``term`` alone; frozen parts must get none at all."""
    modules = codec.trainable_modules()
    params = {k: [p for p in m.parameters() if p.requires_grad] for k, m in modules.items()}
    flat = [p for ps in params.values() for p in ps]
    grads = torch.autograd.grad(term, flat, retain_graph=True, allow_unused=True)
    it = iter(grads)
    out = set()
    for name, ps in params.items():
        g = [next(it) for _ in ps]
        if any(x is not None and x.abs().sum() > 0 for x in g):
            out.add(name)
    frozen = [p for m in (codec.prior, codec.compressor) for p in m.parameters()]
    assert not any(p.requires_grad for p in frozen), "the prior and the compressor must stay frozen"
    return out


def losses_for(codec: FaSDiffCodec, **kw) -> dict:
    torch.manual_seed(2)
    x = torch.rand(2, 3, 64, 64)
    weights = {"l1": 1.0, "hf": 1.0, "lf": 1.0, "detail": 1.0, "adv": 1.0, "id": 1.0, "gen": 1.0, "gen_detail": 1.0,
               "gen_id": 1.0, "gen_pixel": 1.0, "latent": 1.0, "x0": 1.0, "split": 0.0}
    identity = IdentityNet().eval().requires_grad_(False)
    return codec.training_loss(x, 0.3, steps=2, realism=1.0, weights=weights, discriminator=PatchDiscriminator(),
                               identity=identity, **kw)


@pytest.mark.parametrize("variant, anchor", [("fasdiff", "fid"), ("fasdiff", "gen"), ("fasdiff-nolfe", "fid")])
def test_each_decoded_face_term_reaches_the_steering_through_the_sampler_steps(parts, variant, anchor):
    codec = perturbed_codec(*parts, variant, anchor)
    losses = losses_for(codec)
    everything = set(codec.trainable_modules())
    steering = STEERING & everything
    assert steering == ({"control", "lfe"} if variant == "fasdiff" else {"control"})
    for term in DECODED_TERMS:
        if term == "lf" and codec.lfe is None:
            assert float(losses["lf"]) == 0.0  # no LFE, no low-frequency consistency term
            continue
        assert losses[term].requires_grad, f"{term} is not differentiable"
        assert reached(codec, losses[term]) == everything, f"the {term} term does not reach every trained part"
    assert reached(codec, losses["diffusion"]) == steering  # the diffusion loss never sees the decoded face
    assert reached(codec, losses["latent"]) == steering  # ẑ0 against z0: before the decoder and the fusion
    assert reached(codec, losses["x0"]) == steering  # the denoiser's implied clean latent: the steering alone
    for term in ("gen", "gen_detail", "gen_id"):  # x_gen comes before the fusion
        assert reached(codec, losses[term]) == everything - {"fusion"}, term


def test_the_few_step_latent_carries_gradients_only_when_the_steering_trains(parts):
    codec = perturbed_codec(*parts, "fasdiff", "fid")
    x = torch.rand(2, 3, 64, 64)
    z, _, diffusion = codec.few_step_latent(x, 0.3, steps=2, diffusion_loss=codec.steers())
    assert z.requires_grad and diffusion.requires_grad
    with torch.no_grad():  # decoding: no graph
        z, _, _ = codec.few_step_latent(x, 0.3, steps=2, diffusion_loss=True)
    assert not z.requires_grad
    for name in ("control", "lfe"):
        codec.trainable_modules()[name].requires_grad_(False)
    z, _, diffusion = codec.few_step_latent(x, 0.3, steps=2, diffusion_loss=codec.steers())
    assert not z.requires_grad and float(diffusion) == 0.0
    losses = losses_for(codec)
    for term in DECODED_TERMS:
        assert reached(codec, losses[term]) == {"decoder", "fusion"}, term
    assert reached(codec, losses["gen"]) == reached(codec, losses["gen_detail"]) == {"decoder"}
    assert reached(codec, losses["gen_id"]) == {"decoder"}


def test_the_x0_term_asks_the_denoiser_at_the_decodes_own_timesteps_and_alone_skips_the_decode(parts, monkeypatch):
    """The x0 term: one steered denoiser call at timesteps drawn from the ``steps`` the decode runs at this realism
    (not uniform, as the paper's ε-loss), scored as the clean latent it implies against the original's. With no
    decoded-face weight the step runs the two denoiser calls only (no sampler steps, no decoder: ``x_hat`` None)."""
    from fasdiff_lite.models import codec as codec_module

    codec = perturbed_codec(*parts, "fasdiff", "fid")
    seen, original = [], codec_module.steering.steered_output

    def spy(prior, control, lfe, z_t, t, cond, scale=1.0):
        out = original(prior, control, lfe, z_t, t, cond, scale)
        seen.append((torch.as_tensor(t).reshape(-1).clone(), z_t.detach(), out.detach()))
        return out

    monkeypatch.setattr(codec_module.steering, "steered_output", spy)
    torch.manual_seed(3)
    x = torch.rand(4, 3, 64, 64)
    losses = codec.training_loss(x, 0.3, steps=2, realism=0.6, weights={k: 0.0 for k in codec_module.DECODED_TERMS}
                                 | {"x0": 1.0})
    assert losses["x_hat"] is None and len(seen) == 2  # the diffusion loss's call and the x0 term's: no sampling
    t, z_t, out = seen[1]
    assert set(t.tolist()) <= set(codec.timesteps(2, 0.6).tolist())
    z0 = codec.prior.encode(x)
    implied = codec.prior.predict_x0(z_t, t, codec.prior.noise_from_output(out, z_t, t))
    assert torch.allclose(losses["x0"], (implied - z0).abs().mean(), atol=1e-5)
    assert reached(codec, losses["x0"]) == reached(codec, losses["loss"]) == STEERING


def test_gen_frozen_makes_the_gen_terms_train_the_steering_alone(parts):
    """With ``gen_frozen`` the gen terms judge ẑ0 through the prior's frozen VAE decoder: they reach the control and
    the LFE (through the sampler steps) and nothing after the latent; the fused face's terms still reach everything,
    and x_gen (what the fusion sees) is still the codec's decoder's."""
    codec = perturbed_codec(*parts, "fasdiff", "fid")
    torch.manual_seed(2)
    x = torch.rand(2, 3, 64, 64)
    w = {"l1": 1.0, "hf": 0.0, "lf": 0.0, "detail": 0.0, "adv": 0.0, "gen": 1.0, "gen_detail": 1.0, "gen_id": 1.0,
         "gen_pixel": 1.0, "gen_frozen": 1.0, "split": 0.0}
    losses = codec.training_loss(x, 0.3, steps=2, realism=1.0, weights=w, identity=IdentityNet().eval().requires_grad_(False))
    for term in ("gen", "gen_detail", "gen_id"):
        assert reached(codec, losses[term]) == STEERING, term
    assert reached(codec, losses["l1"]) == set(codec.trainable_modules())
    torch.manual_seed(2)
    z = codec.few_step_latent(torch.rand(2, 3, 64, 64), 0.3, steps=2, realism=1.0)[0]
    assert not torch.allclose(codec.decode_latent(z), codec.prior.decode(z))  # the two decoders differ here


def test_gen_pixel_asks_x_gen_for_the_detail_its_low_pass_term_cannot_see(parts):
    """``gen_pixel`` 0: the gen term sees only x_gen's low-pass, so an x_gen that is the original plus a fine
    checkerboard costs (almost) nothing; 1 at rate 1: the whole pixel error, as the fused face's L1."""
    codec = perturbed_codec(*parts, "fasdiff", "fid")
    torch.manual_seed(3)
    x = torch.rand(2, 3, 64, 64)
    checker = ((torch.arange(64)[:, None] + torch.arange(64)[None, :]) % 2).float() * 0.2 - 0.1
    codec.decode_latent = lambda z: (x + checker).clamp(0, 1)  # x_gen: the original's structure, wrong fine detail
    base = {"l1": 1.0, "hf": 0.0, "lf": 0.0, "detail": 0.0, "adv": 0.0, "id": 0.0, "gen": 1.0, "gen_detail": 0.0,
            "gen_id": 0.0, "split": 0.0, "split_levels": 2, "split_below": 1.0, "multi_realism": 0.0}
    z = torch.zeros(2, 4, 16, 16)
    x_fid = x.clone()
    low = codec.decoded_loss(x, z, x_fid, 1.0, {**base, "gen_pixel": 0.0})["gen"]
    full = codec.decoded_loss(x, z, x_fid, 1.0, {**base, "gen_pixel": 1.0})["gen"]
    assert float(low) < 0.01 and float(full) > 0.08

def test_the_detail_space_says_what_detail_the_term_asks(parts):
    """``detail_space`` 1 (luma): a decoded face that is the original plus a colour checkerboard (zero channel mean:
    the luminance unchanged) meets the detail term exactly, while a grey checkerboard of the same size costs; 0 (rgb):
    both cost (colour halos could pay for missing luminance detail); 2 (apart): both cost, each in its own part."""
    codec = perturbed_codec(*parts, "fasdiff", "fid")
    codec.fusion = None
    codec.lfe.config.correct_output = False  # x_hat is x_gen itself
    torch.manual_seed(4)
    x = 0.25 + 0.5 * torch.rand(2, 3, 64, 64)
    checker = ((torch.arange(64)[:, None] + torch.arange(64)[None, :]) % 2).float() * 0.2 - 0.1
    colour = checker * torch.tensor([1.0, -1.0, 0.0])[:, None, None]  # the channels' mean unchanged
    grey = checker.expand(3, 64, 64)
    base = {"l1": 0.0, "hf": 0.0, "lf": 0.0, "detail": 1.0, "adv": 0.0, "id": 0.0, "gen": 0.0, "gen_detail": 0.0,
            "gen_id": 0.0, "split": 0.0, "split_levels": 2, "split_below": 1.0, "multi_realism": 0.0}
    z = torch.zeros(2, 4, 16, 16)

    def detail(pattern, space):
        codec.decode_latent = lambda z: x + pattern
        return float(codec.decoded_loss(x, z, x.clone(), 1.0, {**base, "detail_space": space})["detail"])

    assert detail(colour, 1.0) < 1e-5 < 0.1 < detail(grey, 1.0)
    assert detail(colour, 0.0) > 0.1 and detail(grey, 0.0) > 0.1
    assert detail(colour, 2.0) > 0.1 and detail(grey, 2.0) > 0.1
    apart = frequency.detail_log_energy(x + colour, "apart") - frequency.detail_log_energy(x, "apart")
    assert apart[:, 0].abs().max() < 1e-5 < 0.1 < apart[:, 1].min()  # the colour part alone moved
    assert torch.equal(frequency.detail_log_energy(torch.zeros(1, 3, 8, 8), "apart")[0, 1],
                       torch.tensor(frequency.COLOUR_FLOOR).log())  # a grey face: the floor, not log 0
    with pytest.raises(ValueError, match="rgb, luma, apart"):
        frequency.detail_log_energy(x, "hsv")


def test_lf_fused_asks_the_low_band_the_correction_would_overwrite(parts):
    """With the LFE's output correction on, a decoded face whose low band is far off (a colour cast) costs the lf
    term nothing after the correction (x_fid's low band replaces it); ``lf_fused`` 1 asks the face before it, where the
    cast costs. Without a correction both are the same face."""
    codec = perturbed_codec(*parts, "fasdiff", "fid")
    codec.fusion = None
    torch.manual_seed(5)
    x = 0.3 + 0.4 * torch.rand(2, 3, 64, 64)
    cast = torch.tensor([0.2, -0.2, 0.1])[:, None, None]
    codec.decode_latent = lambda z: x + cast
    base = {"l1": 0.0, "hf": 0.0, "lf": 1.0, "detail": 0.0, "adv": 0.0, "id": 0.0, "gen": 0.0, "gen_detail": 0.0,
            "gen_id": 0.0, "split": 0.0, "split_levels": 2, "split_below": 1.0, "multi_realism": 0.0}
    z = torch.zeros(2, 4, 16, 16)
    lf = lambda fused: float(codec.decoded_loss(x, z, x.clone(), 0.3, {**base, "lf_fused": fused})["lf"])  # noqa: E731
    assert lf(0.0) < 1e-3 < 0.03 < lf(1.0)
    codec.lfe.config.correct_output = False
    assert lf(0.0) == pytest.approx(lf(1.0)) and lf(0.0) > 0.03


def test_gradient_checkpointing_of_the_steps_gives_the_same_gradients(parts):
    grads = []
    for checkpoint in (False, True):
        codec = perturbed_codec(*parts, "fasdiff", "fid")
        codec.checkpoint_steps = checkpoint
        loss = losses_for(codec)["l1"]
        ps = [p for p in codec.control.parameters()] + [p for p in codec.lfe.parameters()]
        grads.append(torch.autograd.grad(loss, ps))
    for a, b in zip(*grads):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-7)
    assert any(g.abs().sum() > 0 for g in grads[1])


def test_multi_realism_weights_the_realism_terms_by_the_realism_the_step_decodes_at(parts):
    """``--multi-realism``: the realism β a step is drawn at reaches the loss (the adversarial term and the split are
    scaled by β; the detail energy asked moves from x_fid's to the original's) and the fusion (β scales and shifts its hidden layers, and every decoded-face term
    trains the MLP that reads it). Without the flag β changes neither weight."""
    from fasdiff_lite.models.codec import LOSS_WEIGHTS, SPLIT_BELOW, SPLIT_LEVELS, realism_shares

    codec = perturbed_codec(*parts, "fasdiff", "fid")
    codec.fusion.add_realism_input()
    base = {**LOSS_WEIGHTS, "split_levels": SPLIT_LEVELS, "split_below": SPLIT_BELOW}
    only_adv = {**base, **{k: 0.0 for k in ("l1", "hf", "lf", "detail", "id")}, "adv": 1.0, "multi_realism": 1.0}
    x = torch.rand(2, 3, 64, 64)
    disc = PatchDiscriminator()
    for beta in (0.25, 1.0):
        torch.manual_seed(4)
        out = codec.training_loss(x, 0.3, steps=2, realism=beta, weights=only_adv, discriminator=disc)
        assert torch.allclose(out["loss"] - out["diffusion"], beta * out["adv"]), beta
        torch.manual_seed(4)
        off = codec.training_loss(x, 0.3, steps=2, realism=beta, weights={**only_adv, "multi_realism": 0.0},
                                  discriminator=disc)
        assert torch.allclose(off["loss"] - off["diffusion"], off["adv"])
    # the shares: β scales the split (pixel share) and the realism terms; nothing without the flag
    w = {**base, "split": 1.0, "split_below": 1.0}
    assert realism_shares(0.0, 0.0, {**w, "multi_realism": 1.0}) == (1.0, 0.0, 0.0)
    assert realism_shares(0.0, 0.5, {**w, "multi_realism": 1.0}) == (0.5, 0.5, 0.5)
    assert realism_shares(0.0, 0.5, w) == (0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="realism"):
        realism_shares(0.0, 1.5, {**w, "multi_realism": 1.0})
    # the detail term asks for a detail energy β of the way (in log) from x_fid's to the original's

    e = lambda im: frequency.detail_energy(im).clamp_min(1e-8).log()  # noqa: E731
    only_detail = {**base, **{k: 0.0 for k in ("l1", "hf", "lf", "adv", "id")}, "detail": 1.0, "multi_realism": 1.0}
    with torch.no_grad():
        z, x_fid, _ = codec.few_step_latent(x, 0.3, steps=2)
        for beta in (0.0, 0.4, 1.0):
            out = codec.decoded_loss(x, z, x_fid, 0.3, only_detail, realism=beta)
            target = (1 - beta) * e(x_fid[..., :64, :64]) + beta * e(x)
            assert torch.allclose(out["detail"], (e(out["x_hat"]) - target).abs().mean(), atol=1e-6), beta
            off = codec.decoded_loss(x, z, x_fid, 0.3, {**only_detail, "multi_realism": 0.0}, realism=beta)
            assert torch.allclose(off["detail"], (e(off["x_hat"]) - e(x)).abs().mean(), atol=1e-6)
        assert not torch.allclose(e(x_fid), e(x))  # the two targets differ, so the check above can fail
    # the fusion's FiLM: decoded-face terms train the MLP that reads β, from its zero start (its last layer)
    film = codec.fusion.film
    assert not film[-1].weight.any()
    torch.manual_seed(2)
    losses = codec.training_loss(x, 0.3, steps=2, realism=0.7, weights={**base, "multi_realism": 1.0},
                                 discriminator=disc)
    for term in ("l1", "adv"):
        g = torch.autograd.grad(losses[term], film[-1].weight, retain_graph=True)[0]
        assert g.abs().sum() > 0, term


def test_a_realism_aware_fusion_learns_to_answer_the_realism_it_is_asked_for():
    """The mechanism, not only the wiring: taught a target that depends on β (x_fid + β²·(x_gen − x_fid)), a FiLM
    fusion learns it; with its FiLM frozen at zero (only the blend x_fid + β·(answer − x_fid) sees β) it cannot, nor
    can a fusion without a realism input. The first realism input (a constant plane) trained in session 14 stayed at
    0.003 against 0.07: this test fails for a β that does not reach the layers."""
    from torch.nn import functional as F

    target = lambda x_gen, x_fid, b: x_fid + b.view(-1, 1, 1, 1) ** 2 * (x_gen - x_fid)  # noqa: E731

    def fit(realism_input: bool, film: bool = True) -> float:
        torch.manual_seed(0)
        fusion = FidelityFusion(channels=8, dilations=(1, 1), anchor="fid", realism_input=realism_input)
        if realism_input and not film:
            fusion.film.requires_grad_(False)
        opt = torch.optim.Adam([p for p in fusion.parameters() if p.requires_grad], lr=1e-2)
        gen = torch.Generator().manual_seed(0)
        run = lambda g, f, b: fusion(g, f, realism=b if realism_input else None)  # noqa: E731
        for _ in range(150):
            x_gen, x_fid = torch.rand(8, 3, 8, 8, generator=gen), torch.rand(8, 3, 8, 8, generator=gen)
            beta = torch.rand(8, generator=gen)
            loss = F.l1_loss(run(x_gen, x_fid, beta), target(x_gen, x_fid, beta))
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            x_gen, x_fid = torch.rand(64, 3, 8, 8, generator=gen), torch.rand(64, 3, 8, 8, generator=gen)
            beta = torch.rand(64, generator=gen)
            return float(F.l1_loss(run(x_gen, x_fid, beta), target(x_gen, x_fid, beta)))

    blind, blend_only, film = fit(False), fit(True, film=False), fit(True)
    assert film < 0.6 * blend_only and blend_only < blind, (film, blend_only, blind)


def test_the_trainer_refuses_x_gen_and_latent_settings_that_would_do_nothing_or_cannot_be():
    """``--latent-weight`` trains the steering, which ``--latent-cache`` freezes (the term would silently train
    nothing); ``--gen-pixel`` is a share; ``--gen-id-weight`` needs the proxy. Refused before anything loads."""
    from fasdiff_lite.train import fasdiff as fasdiff_train

    Config = fasdiff_train.Config
    with pytest.raises(ValueError, match="latent-cache"):
        fasdiff_train.train(Config(latent_cache=4, latent_weight=1.0))
    with pytest.raises(ValueError, match="latent-cache"):
        fasdiff_train.train(Config(latent_cache=4, x0_weight=1.0))
    with pytest.raises(ValueError, match="gen-frozen.*latent-cache"):
        fasdiff_train.train(Config(latent_cache=4, gen_frozen=True))
    with pytest.raises(ValueError, match="gen-pixel"):
        fasdiff_train.train(Config(gen_pixel=1.5))
    with pytest.raises(ValueError, match="gen-id-weight"):
        fasdiff_train.train(Config(gen_id_weight=1.0))
