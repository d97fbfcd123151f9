"""Short training runs on the synthetic corpus: every model learns, outputs are complete and labelled."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from PIL import Image

from aesthetic.benchmark.checkpoint import checkpoint_config, load_checkpoint
from aesthetic.benchmark.cli import main
from aesthetic.benchmark.config import ModelConfig, TrainConfig, from_dict
from tests.benchmark.conftest import train_args

# The text stream learns slower per step than the vision one on this corpus (random 16-d vectors).
LR = {"text": "1e-2"}
EPOCHS = {"text": "4"}


@pytest.fixture(scope="module")
def runs(tiny_corpus, image_cache, tmp_path_factory) -> dict[str, Path]:
    corpus, images = tiny_corpus
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for model in ("mracnn", "vision", "text", "fusion"):
        out[model] = root / model
        args = ["--model", model, *train_args(corpus, images, out[model], image_cache),
                "--epochs", EPOCHS.get(model, "3"), "--lr", LR.get(model, "1e-3"), "--seed", "1"]
        if model == "mracnn":
            args.append("--compare-paper")
        assert main(args) == 0
    return out


@pytest.mark.slow
@pytest.mark.parametrize("model", ["mracnn", "vision", "text", "fusion"])
def test_every_model_learns_well_above_chance(runs, model: str) -> None:
    metrics = json.loads((runs[model] / "metrics.json").read_text())["metrics"]
    assert metrics["n_images"] == 48
    assert metrics["accuracy"] >= 0.8          # chance is about 0.5 (balanced labels)
    assert metrics["srcc"] is not None and metrics["srcc"] > 0.5


@pytest.mark.slow
def test_run_folder_has_every_output(runs) -> None:
    run = runs["mracnn"]
    for name in ("config.json", "metrics.json", "predictions.parquet", "checkpoints/last.pt", "checkpoints/best.pt",
                 "plots/score_distributions.png", "plots/attention.png", "plots/learning_curves.png"):
        assert (run / name).is_file(), name
    config = json.loads((run / "config.json").read_text())
    assert config["config"]["model"]["name"] == "mracnn" and config["config"]["model"]["n_bins"] == 10
    assert config["threshold"] == 5.0
    # config.json and both checkpoints hold the same whole config, read back as it was saved.
    saved = from_dict(TrainConfig, config["config"])
    for name in ("best.pt", "last.pt"):
        path = run / "checkpoints" / name
        assert checkpoint_config(load_checkpoint(path), path) == saved, name
    assert saved.model.vocab_size > 3 and saved.model.vector_dim == 16 and saved.out == str(run)
    assert config["images_per_split"] == {"train": 96, "val": 32, "test": 48}
    predictions = pq.read_table(run / "predictions.parquet").to_pandas()
    assert len(predictions) == 48 and predictions["image_id"].is_monotonic_increasing
    dist = np.stack(predictions["predicted_distribution"].to_numpy())
    assert dist.shape == (48, 10) and np.allclose(dist.sum(axis=1), 1, atol=1e-5)
    assert np.allclose(predictions["predicted_mean"], dist @ np.arange(1, 11), atol=1e-4)


@pytest.mark.slow
def test_outputs_are_labelled_untrained_and_random(runs) -> None:
    mracnn = json.loads((runs["mracnn"] / "metrics.json").read_text())
    assert mracnn["labels"] == ["untrained trunk", "random word vectors"]
    assert "[untrained trunk, random word vectors]" in mracnn["row"]
    assert json.loads((runs["vision"] / "metrics.json").read_text())["labels"] == ["untrained trunk"]
    assert json.loads((runs["text"] / "metrics.json").read_text())["labels"] == ["random word vectors"]
    assert mracnn["paper"]["label"] == "MRACNN MFB (AlexNet)"   # --compare-paper: the paper's row is kept beside ours
    # The files outside metrics.json say it too: predictions' schema metadata and every figure.
    metadata = pq.read_schema(runs["mracnn"] / "predictions.parquet").metadata
    assert json.loads(metadata[b"aesthetic.labels"]) == ["untrained trunk", "random word vectors"]
    for png in ("score_distributions", "attention", "learning_curves"):
        with Image.open(runs["mracnn"] / "plots" / f"{png}.png") as image:
            assert image.text["Description"] == "made with: untrained trunk, random word vectors", png


@pytest.mark.slow
def test_best_checkpoint_is_the_lowest_val_loss(runs) -> None:
    metrics = json.loads((runs["mracnn"] / "metrics.json").read_text())
    losses = [h["val_loss"] for h in metrics["history"]]
    best = load_checkpoint(runs["mracnn"] / "checkpoints" / "best.pt")
    assert best["epoch"] == metrics["best_epoch"] == int(np.argmin(losses)) + 1
    assert best["val_loss"] == pytest.approx(min(losses))
    assert all(isinstance(v, torch.Tensor) for v in best["model"].values())


@pytest.mark.slow
def test_evaluate_subcommand_reproduces_the_test_metrics(runs, tiny_corpus, tmp_path, capfd) -> None:
    corpus, images = tiny_corpus
    out = tmp_path / "eval"
    rc = main(["evaluate", "--checkpoint", str(runs["mracnn"] / "checkpoints" / "best.pt"), "--corpus", str(corpus),
               "--images", str(images), "--out", str(out), "--device", "cpu", "--quiet"])
    assert rc == 0
    # The checkpoint carries the embedding matrix: evaluating must not claim the vectors are missing.
    assert "NO WORD VECTORS" not in capfd.readouterr().err
    again = json.loads((out / "metrics.json").read_text())
    trained = json.loads((runs["mracnn"] / "metrics.json").read_text())
    for key in ("accuracy", "srcc", "plcc", "mae", "rmse", "emd", "n_images"):
        assert again["metrics"][key] == pytest.approx(trained["metrics"][key], rel=1e-6), key
    assert again["labels"] == trained["labels"]
    assert (out / "predictions.parquet").is_file() and (out / "plots" / "attention.png").is_file()


def test_history_records_the_learning_rate_each_epoch_trained_at(tiny_corpus, tmp_path) -> None:
    from aesthetic.benchmark.runtime import setup_runtime
    from aesthetic.benchmark.train import train

    corpus, _ = tiny_corpus
    cfg = TrainConfig(model=ModelConfig(name="text", text_maps=4), corpus=str(corpus), out=str(tmp_path / "run"),
                      epochs=3, lr_step=1, limit=16, batch_size=16, embed_dim=8, device="cpu")
    history = train(cfg, setup_runtime("cpu"))["history"]
    # Divided by 10 after every epoch here (lr_step 1): epoch 1 trains at the initial rate, not the next one.
    assert [h["lr"] for h in history] == pytest.approx([1e-3, 1e-4, 1e-5])


def test_evaluate_keeps_the_training_threshold_on_a_corpus_with_its_own_labels(tiny_corpus, tmp_path) -> None:
    """A corpus labelled with another cut-off (here mean > 7.2): training derives the threshold from the
    train split's labels; evaluating the checkpoint must use that one, not one re-derived from test."""
    corpus, images = tiny_corpus
    relabelled = tmp_path / "corpus"
    relabelled.mkdir()
    for split in ("train", "val", "test"):
        table = pq.read_table(corpus / f"{split}.parquet")
        high = pa.array(table.column("mean_score").to_numpy() > 7.2)   # inside the synthetic high cluster
        table = table.set_column(table.schema.get_field_index("label_high"), table.schema.field("label_high"), high)
        pq.write_table(table, relabelled / f"{split}.parquet")
    run = tmp_path / "run"
    assert main(["--model", "text", "--corpus", str(relabelled), "--out", str(run), "--epochs", "1",
                 "--embed-dim", "16", "--text-maps", "8", "--device", "cpu", "--quiet"]) == 0
    trained = json.loads((run / "metrics.json").read_text())
    assert trained["threshold"] != 5.0                     # derived from the train labels
    assert main(["evaluate", "--checkpoint", str(run / "checkpoints" / "best.pt"), "--corpus", str(relabelled),
                 "--out", str(tmp_path / "eval"), "--device", "cpu", "--quiet"]) == 0
    again = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert again["threshold"] == trained["threshold"]
    assert again["metrics"]["accuracy"] == pytest.approx(trained["metrics"]["accuracy"], rel=1e-9)


@pytest.mark.parametrize(("val_losses", "best_epoch", "bad_epochs", "stopped"), [
    ([3.0, 2.0, 1.0], 3, 0, False),            # always better
    ([1.0, 2.0, 3.0], 1, 2, True),             # patience 2 runs out
    ([1.0, 1.0], 1, 1, False),                 # equal is not better
    ([2.0, 1.0, 3.0, 0.5], 4, 0, False),       # a new best resets the count
])
def test_loop_state_keeps_the_best_epoch_and_stops_early(val_losses, best_epoch, bad_epochs, stopped) -> None:
    from aesthetic.benchmark.train import LoopState

    state = LoopState()
    improved = [state.end_epoch({"epoch": i + 1, "val_loss": v}, patience=2) for i, v in enumerate(val_losses)]
    assert (state.best_epoch, state.bad_epochs, state.stopped) == (best_epoch, bad_epochs, stopped)
    assert state.epochs_done == len(val_losses) == len(state.history)
    assert improved[best_epoch - 1] and state.best_val == min(val_losses)


def test_the_training_loss_is_emd_with_r_2_on_the_softmax_of_the_logits() -> None:
    """train_step's loss, by hand: per image sqrt((1/N) sum_k (CDF_p(k) - CDF_q(k))^2), p = softmax(logits),
    then the batch mean; r = 1 (the evaluation's EMD) would give another number."""
    from aesthetic.benchmark.engine import DeviceBatch
    from aesthetic.benchmark.models import build_model
    from aesthetic.benchmark.runtime import Runtime
    from aesthetic.benchmark.train import train_step

    torch.manual_seed(0)
    model = build_model(ModelConfig(name="text", text_maps=4, vocab_size=20, vector_dim=6, max_tokens=12)).eval()
    target = torch.distributions.Dirichlet(torch.ones(10)).sample((5,))
    raw = {"tokens": torch.randint(0, 20, (5, 12)), "target": target}
    runtime = Runtime(torch.device("cpu"))
    with torch.no_grad():
        p = torch.softmax(model(None, raw["tokens"]).logits, dim=1).double()
    cdf = (p.cumsum(1) - raw["target"].double().cumsum(1)).abs()
    by_hand = float(torch.sqrt((cdf ** 2).mean(dim=1)).mean())
    loss = train_step(model, DeviceBatch(raw, runtime), torch.optim.SGD(model.parameters(), lr=0.0), runtime)
    assert float(loss) == pytest.approx(by_hand, rel=1e-5)
    assert abs(float(cdf.mean(dim=1).mean()) - by_hand) > 1e-3       # r = 1 is another number here


@pytest.mark.parametrize("amp", [True, False])
def test_evaluate_runs_in_the_precision_the_run_trained_in(amp, tiny_corpus, tmp_path, monkeypatch) -> None:
    """bf16 autocast on CUDA only for a run trained with it: evaluating a --no-amp run in bf16 would report
    other numbers than its training did (the CPU never autocasts; the choice handed to the runtime is what counts)."""
    import aesthetic.benchmark.runtime as runtime_module

    corpus, _ = tiny_corpus
    run = tmp_path / "run"
    assert main(["--model", "text", "--corpus", str(corpus), "--out", str(run), "--epochs", "1", "--limit", "16",
                 "--embed-dim", "8", "--text-maps", "4", "--device", "cpu", "--quiet",
                 "--amp" if amp else "--no-amp"]) == 0
    asked = []
    real = runtime_module.setup_runtime
    monkeypatch.setattr(runtime_module, "setup_runtime",
                        lambda device, *, amp: asked.append(amp) or real(device, amp=amp))
    assert main(["evaluate", "--checkpoint", str(run / "checkpoints" / "best.pt"), "--corpus", str(corpus),
                 "--out", str(tmp_path / "eval"), "--device", "cpu", "--quiet"]) == 0
    assert asked == [amp]
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["amp_bf16"] is False   # a CPU: never
