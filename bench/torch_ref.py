#!/usr/bin/env python3
"""PyTorch's side of nanofed_bench: the same workloads, shapes, models, batch sizes and
precision as bench/workloads_*.cpp, written the way a PyTorch user would write them
(plain training loops, a sequential `for client in clients:` FedAvg round).

Two ways to run it (docs/performance.md):

  python3 bench/torch_ref.py [--device cpu|cuda] [--only a,b] [--threads N] [--repeats R]
                             [--json FILE]
      standalone: warm-up, then R timed rounds per workload; prints `name value unit` lines
      (the median throughput) and writes JSON.

  python3 bench/torch_ref.py --serve --threads N
      nanofed_bench's child process: one request per line on stdin, one reply per line on
      stdout (bench/protocol.h):
        (on start)              -> ok torch=<version> threads=<n> python=<version>
        setup <name> <device>   -> ok items=<per iteration> unit=<unit>
        run <k>                 -> ok seconds=<time of k iterations, device synchronised>
        peak                    -> ok peak=<bytes> base=<bytes> measure=<rss|cuda>
        quit
      or `err <one line>` for any request that fails.

Timing: time.perf_counter around k iterations and a synchronize on the CPU; CUDA events on
the GPU. Peak memory: the resident set's high-water mark (VmHWM, reset through
/proc/self/clear_refs at setup) on the CPU; torch.cuda.max_memory_allocated on the GPU.
"""
import argparse
import gc
import json
import os
import platform
import re
import statistics
import sys
import time

torch = None  # imported in main(), so that a missing torch is one clear line
nn = None
F = None


# ---------------------------------------------------------------- models (nn/models.h, nn/resnet.h)

def mlp(sizes):
    layers = [nn.Flatten()]
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def fmnist_cnn():
    """Ditto's FMNIST CNN: conv5x5-32 same, ReLU, pool 2; conv5x5-64 same, ReLU, pool 2; fc 1024; fc 10."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 1024), nn.ReLU(), nn.Linear(1024, 10))


def resnet18(width=64, classes=10):
    """CIFAR ResNet18 (kuangliu/pytorch-cifar) with base width `width`."""

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Sequential()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            y = F.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return F.relu(y + self.shortcut(x))

    class ResNet18(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            blocks, cin = [], width
            for mult, stride in [(1, 1), (2, 2), (4, 2), (8, 2)]:
                blocks += [BasicBlock(cin, width * mult, stride), BasicBlock(width * mult, width * mult, 1)]
                cin = width * mult
            self.layers = nn.Sequential(*blocks)
            self.linear = nn.Linear(8 * width, classes)

        def forward(self, x):
            y = self.layers(F.relu(self.bn1(self.conv1(x))))
            return self.linear(F.adaptive_avg_pool2d(y, 1).flatten(1))

    return ResNet18()


# ---------------------------------------------------------------- workloads (bench/workloads_*.cpp)
# Each builder takes the device and returns (step, items per iteration, unit).

def labels(n, dev):
    return torch.randint(0, 10, (n,), device=dev)


def train_step(model, opt, x, y):
    model.train()

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return step


def gemm(dev, n=1024):
    a, b = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev)

    def step():
        with torch.no_grad():
            torch.mm(a, b)
    return step, 2.0 * n ** 3 / 1e9, "GFLOP/s"


def conv(dev, with_backward):
    N, C, H, K, R = 32, 64, 16, 64, 3
    x, w = torch.randn(N, C, H, H, device=dev), torch.randn(K, C, R, R, device=dev) * 0.05
    fwd_flops = 2.0 * N * K * H * H * C * R * R
    if not with_backward:
        def step():
            with torch.no_grad():
                F.conv2d(x, w, None, 1, 1)
        return step, fwd_flops / 1e9, "GFLOP/s"
    x.requires_grad_(True)
    w.requires_grad_(True)
    g = torch.randn(N, K, H, H, device=dev)

    def step():  # gradients accumulate into x.grad and w.grad, as nanofed's do
        F.conv2d(x, w, None, 1, 1).backward(g)
    return step, 3 * fwd_flops / 1e9, "GFLOP/s"


def mlp_step(dev, batch=32):
    m = mlp([784, 200, 200, 10]).to(dev)
    x, y = torch.rand(batch, 1, 28, 28, device=dev), labels(batch, dev)
    return train_step(m, torch.optim.SGD(m.parameters(), lr=0.01), x, y), 1, "steps/s"


def cnn_train(dev, batch):
    m = fmnist_cnn().to(dev)
    x, y = torch.rand(batch, 1, 28, 28, device=dev), labels(batch, dev)
    return train_step(m, torch.optim.SGD(m.parameters(), lr=0.05), x, y), batch, "img/s"


def resnet_train(dev, width, batch):
    m = resnet18(width).to(dev)
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    x, y = torch.randn(batch, 3, 32, 32, device=dev), labels(batch, dev)
    return train_step(m, opt, x, y), batch, "img/s"


def resnet_eval(dev, width, batch):
    m = resnet18(width).to(dev).eval()
    x = torch.randn(batch, 3, 32, 32, device=dev)

    def step():
        with torch.no_grad():
            m(x)
    return step, batch, "img/s"


def frozen(model, dev):
    """Eval mode, parameters without gradients: attacks and smoothing differentiate (or not) in x only."""
    model = model.to(dev).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def pgd10(dev, model, shape, batch, eps=8 / 255, alpha=2 / 255, steps=10):
    """L-inf PGD with a random start, torchattacks' update (attacks/pgd.h)."""
    m = frozen(model, dev)
    x, y = torch.rand(batch, *shape, device=dev), labels(batch, dev)

    def step():
        adv = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1)
        for _ in range(steps):
            adv.requires_grad_(True)
            g, = torch.autograd.grad(F.cross_entropy(m(adv), y), adv)
            adv = adv.detach() + alpha * g.sign()
            adv = (x + (adv - x).clamp(-eps, eps)).clamp(0, 1)
        return adv
    return step, batch, "img/s"


def sample_counts(m, x, num, batch=1000, sigma=0.25):
    """Randomized smoothing's SAMPLE: class counts of `num` noisy copies of x, read back once."""
    counts = torch.zeros(10, dtype=torch.long, device=x.device)
    with torch.no_grad():
        while num > 0:
            b = min(batch, num)
            num -= b
            xb = x.unsqueeze(0).repeat(b, 1, 1, 1)
            counts += torch.bincount(m(xb + torch.randn_like(xb) * sigma).argmax(1), minlength=10)
    return counts.cpu()


def smooth(dev, num=10000):
    m = frozen(fmnist_cnn(), dev)
    x = torch.rand(1, 28, 28, device=dev)
    return lambda: sample_counts(m, x, num), num, "samples/s"


def certify(dev, n0=100, n=100000):
    """Cohen's CERTIFY of one image: selection draws, then fresh estimation draws."""
    m = frozen(resnet18(64), dev)
    x = torch.rand(3, 32, 32, device=dev)

    def step():
        top = int(sample_counts(m, x, n0).argmax())
        return int(sample_counts(m, x, n)[top])
    return step, n0 + n, "samples/s"


def fl_round(dev, make_model, clients, per_client, batch, steps=None, lr=0.05):
    """One FedAvg round as a researcher writes it: for each client, load the global weights,
    SGD on its minibatches (`steps` of them, else one epoch), collect; then the plain mean."""
    gen = torch.Generator().manual_seed(0)
    data = [(torch.rand(per_client, 1, 28, 28, generator=gen).to(dev),
             torch.randint(0, 10, (per_client,), generator=gen).to(dev)) for _ in range(clients)]
    local = make_model().to(dev)
    global_state = {k: v.clone() for k, v in local.state_dict().items()}

    def batches():
        order = torch.randperm(per_client, device=dev)
        starts = range(0, per_client, batch) if steps is None else [s * batch % per_client for s in range(steps)]
        return [order[s:s + batch] for s in starts]

    def step():
        total = {k: torch.zeros_like(v) for k, v in global_state.items()}
        for x, y in data:
            local.load_state_dict(global_state)
            opt = torch.optim.SGD(local.parameters(), lr=lr)
            for idx in batches():
                opt.zero_grad()
                F.cross_entropy(local(x[idx]), y[idx]).backward()
                opt.step()
            for k, v in local.state_dict().items():
                total[k] += v / clients
        global_state.update(total)
    return step, 1, "rounds/s"


# name -> (builder(device), in the cpu default list, in the cuda default list, TF32)
WORKLOADS = {
    "gemm_1024": (lambda d: gemm(d), True, False, False),
    "mlp_step": (lambda d: mlp_step(d), True, True, False),
    "fmnist_cnn_train_b64": (lambda d: cnn_train(d, 64), True, False, False),
    "conv_fwd": (lambda d: conv(d, False), True, False, False),
    "conv_fwd_bwd": (lambda d: conv(d, True), True, False, False),
    "resnet18_w16_train_b32": (lambda d: resnet_train(d, 16, 32), True, False, False),
    "resnet18_w16_eval_b256": (lambda d: resnet_eval(d, 16, 256), True, False, False),
    "resnet18_train_b128_fp32": (lambda d: resnet_train(d, 64, 128), False, True, False),
    "resnet18_train_b128_tf32": (lambda d: resnet_train(d, 64, 128), False, True, True),
    "resnet18_train_b64_fp32": (lambda d: resnet_train(d, 64, 64), False, True, False),
    "resnet18_train_b64_tf32": (lambda d: resnet_train(d, 64, 64), False, True, True),
    "resnet18_eval_b1000": (lambda d: resnet_eval(d, 64, 1000), False, True, False),
    "pgd10_cnn_b128": (lambda d: pgd10(d, fmnist_cnn(), (1, 28, 28), 128), True, False, False),
    "smooth_10k_cnn": (lambda d: smooth(d), True, False, False),
    "pgd10_resnet18_b256": (lambda d: pgd10(d, resnet18(64), (3, 32, 32), 256), False, True, False),
    "certify_n100k": (lambda d: certify(d), False, True, False),
    "fl_round_mlp10": (lambda d: fl_round(d, lambda: mlp([784, 200, 10]), 10, 240, 16, steps=10), True, False, False),
    "fl_round_cnn100": (lambda d: fl_round(d, fmnist_cnn, 100, 600 if d == "cuda" else 60, 32), True, True, False),
}


# ---------------------------------------------------------------- measuring

def status_bytes(key):
    with open("/proc/self/status") as f:
        m = re.search(r"^%s:\s+(\d+) kB" % key, f.read(), re.M)
    return int(m.group(1)) * 1024 if m else -1


class Bench:
    """The current workload: built by setup(), timed by run(k), its peak memory by peak()."""

    def __init__(self):
        self.step, self.dev, self.base, self.measure = None, "cpu", -1, "rss"

    def setup(self, name, dev):
        if name not in WORKLOADS:
            raise KeyError("unknown workload '%s'" % name)
        self.step = None
        gc.collect()
        self.dev = dev
        build, _, _, tf32 = WORKLOADS[name]
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.benchmark = dev == "cuda"
        self.reset_peak()
        torch.manual_seed(0)
        self.step, items, unit = build(dev)
        return items, unit

    def reset_peak(self):
        if self.dev == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            self.base, self.measure = torch.cuda.memory_allocated(), "cuda"
            return
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.measure = "rss"
        except OSError:
            self.measure = "rss-process"
        self.base = status_bytes("VmRSS")

    def peak(self):
        if self.dev == "cuda":
            return torch.cuda.max_memory_allocated(), self.base, self.measure
        return status_bytes("VmHWM"), self.base, self.measure

    def run(self, k):
        if self.dev == "cuda":
            start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(k):
                self.step()
            stop.record()
            stop.synchronize()
            return start.elapsed_time(stop) / 1000.0
        t0 = time.perf_counter()
        for _ in range(k):
            self.step()
        return time.perf_counter() - t0


def answer(bench, words):
    cmd = words[0] if words else ""
    if cmd == "setup" and len(words) == 3:
        items, unit = bench.setup(words[1], words[2])
        return "ok items=%r unit=%s" % (float(items), unit)
    if cmd == "run" and len(words) == 2:
        return "ok seconds=%r" % bench.run(int(words[1]))
    if cmd == "peak":
        return "ok peak=%d base=%d measure=%s" % bench.peak()
    raise ValueError("unknown request '%s'" % " ".join(words))


def serve():
    print("ok torch=%s threads=%d python=%s" % (torch.__version__, torch.get_num_threads(),
                                               platform.python_version()), flush=True)
    bench = Bench()
    for line in sys.stdin:
        words = line.split()
        if words == ["quit"]:
            break
        try:
            reply = answer(bench, words)
        except Exception as e:  # one line back to nanofed_bench, which carries on without us
            reply = "err %s: %s" % (type(e).__name__, str(e).replace("\n", " "))
        print(reply, flush=True)


def standalone(a):
    want = [w for w in a.only.split(",") if w]
    unknown = [w for w in want if w not in WORKLOADS]
    if unknown:
        sys.exit("torch_ref.py: --only: unknown workload(s) %s (workloads: %s)"
                 % (", ".join(unknown), ", ".join(WORKLOADS)))
    names = want or [n for n, (_, cpu, cuda, _) in WORKLOADS.items() if (cuda if a.device == "cuda" else cpu)]
    out = {"torch": torch.__version__, "device": a.device, "threads": torch.get_num_threads(), "workloads": {}}
    bench = Bench()
    for name in names:
        items, unit = bench.setup(name, a.device)
        one = bench.run(1)
        if one < 0.5:
            one = bench.run(1)
        k = max(1, int(-(-0.5 // max(one, 1e-9))))
        rounds = [bench.run(k) / k for _ in range(a.repeats)]
        value = items / statistics.median(rounds)
        peak, base, measure = bench.peak()
        out["workloads"][name] = {"value": value, "unit": unit, "seconds_per_iteration": rounds,
                                  "peak_bytes": peak, "base_bytes": base, "memory_measure": measure}
        print("%s %.4g %s" % (name, value, unit), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


def main():
    global torch, nn, F
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--serve", action="store_true", help="nanofed_bench's child process (line protocol)")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--only", default="", help="comma list of workloads")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", default="", help="write the results here")
    a = ap.parse_args()
    # Both engines get --threads threads, and idle threads that sleep: nanofed's pool waits
    # passively (engine/threads.h), while libgomp's default spin-wait made torch up to 40x
    # slower on a shared 2-core machine (docs/performance.md). Set before torch loads; the
    # environment wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(a.threads))
    try:
        import torch as t
        import torch.nn
        import torch.nn.functional
    except Exception as e:  # ImportError, or a broken install
        msg = "cannot import torch: %s" % e
        if a.serve:  # the reply nanofed_bench waits for
            print("err " + msg, flush=True)
        else:
            print("torch_ref.py: " + msg, file=sys.stderr)
        sys.exit(1)
    torch, nn, F = t, t.nn, t.nn.functional
    torch.set_num_threads(a.threads)
    serve() if a.serve else standalone(a)


if __name__ == "__main__":
    main()
