#!/usr/bin/env python3
"""Times PyTorch's forward-mode Jacobian on the benchmark's DCGAN decoder, with the same float64
weights georepl used, and prints the ratio to georepl's JVP (all 100 columns, batch 32).

    .build/release/georepl-bench onnx --write out/bench     # georepl's timings and the model
    python3 scripts/bench_torch_jvp.py out/bench [--repeats 7]

Reads OUT/dcgan.safetensors (a georepl model file: SPEC's layer list in the metadata),
OUT/georepl.json (georepl's median seconds with its default threads and with one thread, the
first latent point z0) and OUT/jacobian0.f64 (georepl's Jacobian at z0, J^T row-major float64).
torch.func.vmap(torch.func.jacfwd(g)) over the 32 latent points is torch's batched forward-mode
Jacobian; it is timed with one intra-op thread (torch.set_num_threads(1)) against georepl on one
thread, and with torch's default against georepl's default, medians of --repeats runs after one
warm-up. First torch's Jacobian at z0 is compared with georepl's (max relative difference; the
run stops above 1e-9). Needs `pip install torch safetensors numpy` (by hand; never in CI).
"""
import argparse
import json
import statistics
import sys
import time

import numpy

import torch
from safetensors import safe_open


def build(path):
    """The decoder of a georepl model file as a torch float64 function of one latent vector."""
    with safe_open(path, framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k).double() for k in f.keys()}
    layers = json.loads(meta["georepl.decoder"])
    mods = []
    for layer in layers:
        op = layer["op"]
        if op == "linear":
            w, b = tensors[layer["weight"]], tensors.get(layer.get("bias", ""), None)
            m = torch.nn.Linear(w.shape[1], w.shape[0], bias=b is not None).double()
            m.weight.data.copy_(w)
            if b is not None:
                m.bias.data.copy_(b)
        elif op == "reshape":
            m = torch.nn.Unflatten(1, tuple(layer["shape"]))
        elif op == "batchnorm":
            mean = tensors[layer["mean"]]
            m = torch.nn.BatchNorm2d(mean.shape[0], eps=layer.get("eps", 1e-5)).double().eval()
            m.running_mean.copy_(mean)
            m.running_var.copy_(tensors[layer["var"]])
            m.weight.data.copy_(tensors[layer["weight"]])
            m.bias.data.copy_(tensors[layer["bias"]])
        elif op == "conv_transpose2d":
            w = tensors[layer["weight"]]
            m = torch.nn.ConvTranspose2d(w.shape[0], w.shape[1], w.shape[2:], stride=layer.get("stride", [1, 1]),
                                         padding=layer.get("padding", [0, 0]),
                                         output_padding=layer.get("output_padding", [0, 0]),
                                         bias="bias" in layer).double()
            m.weight.data.copy_(w)
        elif op == "relu":
            m = torch.nn.ReLU()
        elif op == "tanh":
            m = torch.nn.Tanh()
        else:
            sys.exit(f"bench_torch_jvp.py: layer op {op} is not handled")
        mods.append(m)
    net = torch.nn.Sequential(*mods).eval()
    return lambda z: net(z.unsqueeze(0)).reshape(-1)


def median_seconds(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--repeats", type=int, default=7)
    a = p.parse_args()
    g = build(a.dir + "/dcgan.safetensors")
    ours = json.load(open(a.dir + "/georepl.json"))
    n, d = int(ours["batch"]), int(ours["latent_dim"])
    # The same function: torch's Jacobian at georepl's first point equals georepl's.
    z0 = torch.tensor(ours["z0"], dtype=torch.float64)
    ref = torch.from_numpy(numpy.fromfile(a.dir + "/jacobian0.f64", dtype="<f8").reshape(d, int(ours["data_dim"])))
    with torch.no_grad():
        j0 = torch.func.jacfwd(g)(z0)  # data_dim x latent_dim
    rel = ((j0.T - ref).abs().max() / ref.abs().max()).item()
    print(f"Jacobian at z0: max |torch - georepl| / max |georepl| = {rel:.1e}")
    if not rel <= 1e-9:
        sys.exit("bench_torch_jvp.py: torch's Jacobian differs from georepl's; the timings would not compare the same work")
    torch.manual_seed(2)
    z = torch.randn(n, d, dtype=torch.float64)
    jac = torch.func.vmap(torch.func.jacfwd(g))
    with torch.no_grad():
        default_threads = torch.get_num_threads()
        t_default = median_seconds(lambda: jac(z), a.repeats)
        torch.set_num_threads(1)
        t_single = median_seconds(lambda: jac(z), a.repeats)
        torch.set_num_threads(default_threads)
    print(f"{'Jacobian, batch ' + str(n):24s} {'1 thread s':>11s} {'default s':>11s}")
    rows = [("georepl, layer list", ours["jvp_1thread_layers"], ours["jvp_layers"]),
            ("georepl, ONNX graph", ours["jvp_1thread_onnx"], ours["jvp_onnx"]),
            (f"torch jacfwd ({default_threads} thr.)", t_single, t_default)]
    for label, one, default in rows:
        print(f"{label:24s} {one:11.3f} {default:11.3f}")
    print(f"{'torch / georepl (ONNX)':24s} {t_single / ours['jvp_1thread_onnx']:11.2f} {t_default / ours['jvp_onnx']:11.2f}")


if __name__ == "__main__":
    main()
