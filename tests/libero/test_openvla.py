"""The tiny OpenVLA*: same structure and code path as the 7B checkpoints, random weights."""

import numpy as np
import pytest
import torch

from srpo_online_sim.openvla.action_tokenizer import ActionTokenizer, unnormalize
from srpo_online_sim.openvla.loading import load_policy, tiny_policy
from srpo_online_sim.openvla.model import action_log_probs

INSTRUCTIONS = ["pick up the black bowl and place it on the plate", "open the top drawer", "turn on the stove"]


@pytest.fixture(scope="module")
def policy():
    return tiny_policy(seed=0)


@pytest.fixture(scope="module")
def inputs(policy):
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (256, 256, 3), dtype=np.uint8) for _ in INSTRUCTIONS]
    return images, policy.prepare(images, INSTRUCTIONS)


def test_all_56_action_tokens_in_one_forward_pass(policy, inputs):
    calls = []
    hook = policy.model.language_model.register_forward_hook(lambda *a: calls.append(1))
    try:
        out = policy.act(inputs[1], temperature=1.6, generator=torch.Generator().manual_seed(0))
    finally:
        hook.remove()
    assert len(calls) == 1
    assert out.slice_tokens.shape == (3, 56) and out.log_probs.shape == (3, 56)
    assert out.actions.shape == (3, 8, 7)
    assert int(out.slice_tokens.min()) >= 0 and int(out.slice_tokens.max()) < 256
    assert len(torch.unique(out.slice_tokens)) > 20  # sampled at T=1.6 from a random model: many bins


def test_batched_equals_one_by_one(policy, inputs):
    images, batch = inputs
    assert (batch["attention_mask"] == 0).any()  # prompts of different lengths: left padding is exercised
    batched = policy.logits(batch)
    single = torch.cat([policy.logits(policy.prepare([im], [t])) for im, t in zip(images, INSTRUCTIONS)])
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=1e-5)
    greedy_batched = policy.act(batch, temperature=0).slice_tokens
    assert torch.equal(greedy_batched, batched.argmax(-1))


def test_actions_lie_in_unnormalised_bounds(policy, inputs):
    out = policy.act(inputs[1], temperature=5.0, generator=torch.Generator().manual_seed(1))
    stats = policy.stats
    arm = out.actions[..., stats.mask]
    assert (arm >= stats.q01[stats.mask] - 1e-9).all() and (arm <= stats.q99[stats.mask] + 1e-9).all()
    assert (np.abs(out.actions[..., ~stats.mask]) <= 1).all()  # gripper passes through un-normalisation
    # extreme ids map to the outer bin MIDPOINTS, half a bin inside q01 / q99 (was pinned at q01 / q99 exactly,
    # the half-bin error of issue 12): centre = -1 + 1/255, so q01 + (q99 - q01) / 510; same at the top
    tok = ActionTokenizer(policy.model.config.vocab_size)
    ends = unnormalize(tok.decode(np.array([[tok.vocab_size - 1] * 7, [tok.vocab_size - 256] * 7])), stats)
    half_bin = (stats.q99[:6] - stats.q01[:6]) / 510
    assert np.allclose(ends[0, :6], stats.q01[:6] + half_bin) and np.allclose(ends[1, :6], stats.q99[:6] - half_bin)


def test_log_probs_match_log_softmax_over_action_slice(policy, inputs):
    captured = {}
    hook = policy.model.language_model.register_forward_hook(lambda m, a, out: captured.update(full=out.logits))
    try:
        out = policy.act(inputs[1], temperature=1.0, generator=torch.Generator().manual_seed(2))
    finally:
        hook.remove()
    full = captured["full"][:, -58:-2]  # the positions before each of the 56 action placeholders (then </s>)
    vocab = policy.model.config.vocab_size
    direct = torch.log_softmax(full[..., vocab - 256 : vocab].float(), -1)
    expected = direct.gather(-1, out.slice_tokens[..., None])[..., 0]
    torch.testing.assert_close(out.log_probs, expected, atol=1e-5, rtol=1e-5)
    # at temperature T the log-probs are those of softmax(logits / T)
    logits = policy.logits(inputs[1])
    hot = action_log_probs(logits, out.slice_tokens, 2.0)
    torch.testing.assert_close(hot, torch.log_softmax(logits / 2.0, -1).gather(-1, out.slice_tokens[..., None])[..., 0])


def test_action_token_order_and_round_trip():
    tok = ActionTokenizer(vocab_size=32000)
    a = np.linspace(-1, 1, 256)
    ids = tok.encode(a)
    assert ids[0] == 31999 and ids[-1] == 31744  # larger action -> smaller id, as in OpenVLA
    # decoding returns bin midpoints (was pinned to the bin edges `a`, the half-bin error of issue 12):
    # a = edge k lies in bin k (k < 255) whose centre is edge k + 1/255; the top edge decodes to the last centre
    expected = np.r_[a[:-1] + 1 / 255, a[-2] + 1 / 255]
    assert np.allclose(tok.decode(ids), expected) and np.abs(tok.decode(ids) - a).max() <= 1 / 255 + 1e-12


def test_save_and_load_round_trip(policy, inputs, tmp_path):
    policy.save(tmp_path / "ck")
    loaded = load_policy(str(tmp_path / "ck"))
    torch.testing.assert_close(loaded.logits(inputs[1]), policy.logits(inputs[1]))


def test_bad_policy_name_says_what_to_do():
    from srpo.errors import UserFacingError

    with pytest.raises(UserFacingError, match="hub id"):
        load_policy("/no/such/folder/really")
