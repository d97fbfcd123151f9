"""Training throughput and peak memory of `mracnn` vs `vision` (same trunk, same batch), as a ratio.

Each (model, batch size) is measured in a fresh process, its peak memory
as its own high-water mark (perf/peak_memory.py; on CUDA, peak CUDA memory
allocated): training steps fed by the real input pipeline (the decoded-image
cache on disk -> DataLoader -> pinned memory -> device, normalised there),
then the same steps on one batch already on the device. The difference is
what the input pipeline costs; the ratio mracnn/vision is what the attention,
text stream and fusion cost on top of the trunk. Aim: at most 1.3x. That is why
`vision` runs with the pooled head by default (the trunk's feature map, pooled,
then one layer: the trunk alone); `--vision-head full` measures the paper's
vision-only baseline instead, the whole network (VGG-16's 120 M-parameter fully
connected layers included), which at 112 px is slower than MRACNN itself.

  CPU (default): python perf/train_throughput.py
  GPU:           python perf/train_throughput.py --device cuda --trunk vgg16 --batch-size 32,128 --amp

Paper-size heads (LSTM/attention 512, MFB k=5 o=1000, Text-CNN 3x100 maps,
300-d vectors, 200 tokens); random weights (speed does not depend on them).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peak_memory import run_measured  # noqa: E402

MODELS = ("vision", "mracnn")
VOCAB = 20_000


def measure(job: dict) -> dict:
    """Run in the child process: step times with the loader and with data on the device (and peak CUDA memory)."""
    import numpy as np
    import torch

    from aesthetic.benchmark.data import ImageCache, SplitDataset
    from aesthetic.benchmark.models import build_model
    from aesthetic.benchmark.models.base import ModelConfig
    from aesthetic.benchmark.runtime import setup_runtime
    from aesthetic.benchmark.train import DeviceBatch, make_loader, make_optimizer, train_step

    torch.manual_seed(0)
    if job["threads"]:
        torch.set_num_threads(job["threads"])
    runtime = setup_runtime(job["device"], amp=job["amp"])
    size, batch, steps, warmup = job["image_size"], job["batch"], job["steps"], job["warmup"]
    n = batch * (steps + warmup + 1)
    rng = np.random.default_rng(0)
    cache_path = Path(job["tmp"]) / f"cache-{size}-{n}.u8"
    if not cache_path.exists():
        array = np.memmap(cache_path, dtype=np.uint8, mode="w+", shape=(n, 3, size, size))
        array[:] = rng.integers(0, 256, size=array.shape, dtype=np.uint8)
        array.flush()
    cache = ImageCache(cache_path, n, size, np.ones(n, dtype=bool))
    target = rng.dirichlet(np.ones(10), size=n).astype(np.float32)
    tokens = rng.integers(0, VOCAB, size=(n, 200)) if job["model"] == "mracnn" else None
    dataset = SplitDataset(target, cache=cache, cache_rows=np.arange(n), tokens=tokens)
    cfg = ModelConfig(name=job["model"], trunk=job["trunk"], vision_head=job["vision_head"])
    embeddings = torch.randn(VOCAB, 300) * 0.3 if job["model"] == "mracnn" else None
    model = build_model(cfg, embeddings, pretrained=False).to(runtime.device)
    if runtime.channels_last:
        model = model.to(memory_format=torch.channels_last)
    model.train()
    optimizer = make_optimizer([p for p in model.parameters() if p.requires_grad], 1e-4, runtime)

    def sync() -> None:
        if runtime.device.type == "cuda":
            torch.cuda.synchronize()

    # Loader-fed and device-resident steps alternate, so load from other processes hits both alike;
    # the fastest step of each kind is reported (the least disturbed one).
    loader_iter = iter(make_loader(dataset, runtime, batch, job["workers"]))
    resident = None
    loaded, on_device = [], []
    for i in range(steps + warmup):
        start = time.perf_counter()
        fetched = DeviceBatch(next(loader_iter), runtime)
        train_step(model, fetched, optimizer, runtime)
        sync()
        middle = time.perf_counter()
        resident = resident or fetched
        train_step(model, resident, optimizer, runtime)
        sync()
        if i >= warmup:
            loaded.append(middle - start)
            on_device.append(time.perf_counter() - middle)
    cuda_peak = torch.cuda.max_memory_allocated() / 2**20 if runtime.device.type == "cuda" else None
    return {**job, "step_loaded": min(loaded), "step_device": min(on_device), "cuda_peak_mib": cuda_peak}


def run_job(job: dict) -> dict:
    """`measure(job)` in a fresh process, whose own peak RSS is measured from outside it."""
    with tempfile.TemporaryFile("w+") as out:
        done = run_measured([sys.executable, __file__, "--job", json.dumps(job)], stdout=out)
        if done.exit_code != 0:
            sys.exit(f"the {job['model']} measurement failed (exit {done.exit_code})")
        out.seek(0)
        result = json.loads(out.read().splitlines()[-1])
    return {**result, "peak_mib": result["cuda_peak_mib"] if job["device"] == "cuda" else done.peak_mib}


def main() -> None:
    from aesthetic.benchmark.models.trunks import TRUNKS, trunk_input_size

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--trunk", default="mobilenet_v2", choices=tuple(TRUNKS))
    parser.add_argument("--batch-size", default="8", help="comma-separated batch sizes (default 8 on CPU)")
    parser.add_argument("--image-size", type=int, default=None, help="default: the trunk's (224, or 299 for inception_v3)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per measurement (the fastest is reported)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--workers", type=int, default=None, help="DataLoader workers (default 0 on CPU, 4 on CUDA)")
    parser.add_argument("--amp", action="store_true", help="bf16 autocast (CUDA)")
    parser.add_argument("--vision-head", default="pooled", choices=("pooled", "full"),
                        help="the vision baseline's head (default pooled: the trunk alone, so the ratio is what "
                             "MRACNN's heads cost; full: the whole network, the paper's vision-only baseline)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads per process (default: 1 on CPU, where a shared machine's load "
                             "stalls multi-threaded ops far more than single-threaded ones; torch's default on CUDA)")
    parser.add_argument("--job", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        print(json.dumps(measure(json.loads(args.job))))
        return
    size = args.image_size or trunk_input_size(args.trunk)
    workers = args.workers if args.workers is not None else (4 if args.device == "cuda" else 0)
    memory = "peak CUDA memory allocated" if args.device == "cuda" else "the process's own peak RSS"
    print(f"device {args.device}, trunk {args.trunk} (vision head {args.vision_head}), {size}px, amp {args.amp and args.device == 'cuda'}, "
          f"{workers} loader workers, {args.threads or (1 if args.device == 'cpu' else 'default')} CPU thread(s), fastest of {args.steps} steps after {args.warmup} warm-up; memory = {memory}")
    with tempfile.TemporaryDirectory() as tmp:
        for batch in (int(b) for b in args.batch_size.split(",")):
            results = {}
            for model in MODELS:
                job = {"model": model, "trunk": args.trunk, "vision_head": args.vision_head, "device": args.device, "amp": args.amp, "batch": batch,
                       "image_size": size, "steps": args.steps, "warmup": args.warmup, "workers": workers, "tmp": tmp,
                       "threads": args.threads if args.threads is not None else (1 if args.device == "cpu" else 0)}
                results[model] = run_job(job)
            print(f"\nbatch {batch}")
            print(f"{'model':8} {'img/s loaded':>13} {'img/s on-device':>16} {'step ms loaded':>15} {'step ms on-device':>18} {'peak MiB':>9}")
            for model, r in results.items():
                print(f"{model:8} {batch / r['step_loaded']:13.1f} {batch / r['step_device']:16.1f} "
                      f"{1000 * r['step_loaded']:15.1f} {1000 * r['step_device']:18.1f} {r['peak_mib']:9.0f}")
            v, m = results["vision"], results["mracnn"]
            print(f"ratio mracnn/vision: step time {m['step_device'] / v['step_device']:.2f}x on-device, "
                  f"{m['step_loaded'] / v['step_loaded']:.2f}x with loading; peak memory {m['peak_mib'] / v['peak_mib']:.2f}x "
                  f"(aim: <= 1.3x)")
            for name, r in results.items():
                print(f"input pipeline share of the step, {name}: {1 - r['step_device'] / r['step_loaded']:+.1%}")


if __name__ == "__main__":
    main()
