#!/usr/bin/env python3
"""Export a small PyTorch VAE (conv decoder and encoder) as a georepl model file, with torch's
own outputs and derivatives as the reference for GeoEngine's parity test.

    pip install torch safetensors
    python3 scripts/export_torch_example.py [OUT_DIR]      (default Tests/Fixtures/torch)

Writes OUT_DIR/torch_example.safetensors (the model, F32 weights: the whole state dict,
including batchnorm's I64 num_batches_tracked, plus the georepl.* metadata of SPEC "Model
files") and OUT_DIR/torch_example_expected.safetensors (F64 tensors):
    z             [3, 4]        latent points
    decoded_f32   [3, 1024]     decoder(z) computed by torch in float32
    decoded_f64   [3, 1024]     decoder(z) computed by torch in float64 (same F32 weights)
    jacobian      [1024, 4]     dg/dz at z[0] (float64)
    u, v          [4]           two tangent directions
    d2            [1024]        D2g(z[0])[u, v] (float64, forward-over-forward mode)
    x             [2, 1024]     data points
    encoded_f64   [2, 8]        encoder(x) (float64)

`georepl_layers(seq, prefix)` turns an nn.Sequential of the supported modules into the
layer array; it is the reusable part for exporting other models.
"""
import json
import os
import sys

import torch
import torch.nn as nn
from safetensors.torch import save_file


def pair(v):
    return list(v) if isinstance(v, (tuple, list)) else [v, v]


def georepl_layers(seq, prefix):
    """The georepl layer list for an nn.Sequential whose state-dict prefix is `prefix`."""
    layers = []
    for i, m in enumerate(seq):
        p = f"{prefix}.{i}"
        if isinstance(m, nn.Linear):
            d = {"op": "linear", "weight": f"{p}.weight"}
            if m.bias is not None:
                d["bias"] = f"{p}.bias"
        elif isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            assert m.groups == 1 and pair(m.dilation) == [1, 1], "groups and dilation are not supported"
            assert m.padding_mode == "zeros", "only zero padding is supported"
            d = {"op": "conv2d" if isinstance(m, nn.Conv2d) else "conv_transpose2d", "weight": f"{p}.weight"}
            if m.bias is not None:
                d["bias"] = f"{p}.bias"
            d["stride"] = pair(m.stride)
            d["padding"] = pair(m.padding)
            if isinstance(m, nn.ConvTranspose2d):
                d["output_padding"] = pair(m.output_padding)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            d = {"op": "batchnorm", "mean": f"{p}.running_mean", "var": f"{p}.running_var", "eps": m.eps}
            if m.affine:
                d["weight"] = f"{p}.weight"
                d["bias"] = f"{p}.bias"
        elif isinstance(m, nn.Unflatten):
            d = {"op": "reshape", "shape": list(m.unflattened_size)}
        elif isinstance(m, nn.Flatten):
            d = {"op": "flatten"}
        elif isinstance(m, nn.ReLU):
            d = {"op": "relu"}
        elif isinstance(m, nn.LeakyReLU):
            d = {"op": "leaky_relu", "slope": m.negative_slope}
        elif isinstance(m, nn.ELU):
            d = {"op": "elu", "alpha": m.alpha}
        elif isinstance(m, nn.Tanh):
            d = {"op": "tanh"}
        elif isinstance(m, nn.Sigmoid):
            d = {"op": "sigmoid"}
        elif isinstance(m, nn.Softplus):
            assert m.threshold == 20, "georepl's softplus uses PyTorch's default threshold 20"
            d = {"op": "softplus", "beta": m.beta}
        elif isinstance(m, nn.SiLU):
            d = {"op": "silu"}
        elif isinstance(m, nn.GELU):
            assert m.approximate == "none", "georepl's gelu is the exact erf form"
            d = {"op": "gelu"}
        else:
            raise ValueError(f"{p}: unsupported module {type(m).__name__}")
        layers.append(d)
    return layers


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.decoder = nn.Sequential(
            nn.Linear(4, 32 * 4 * 4),
            nn.Unflatten(1, (32, 4, 4)),
            nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1, bias=False),     # 16 x 8 x 8
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1),                  # 8 x 16 x 16
            nn.BatchNorm2d(8),
            nn.LeakyReLU(0.2),
            nn.Conv2d(8, 8, 3, stride=1, padding=1),                            # 8 x 16 x 16
            nn.GELU(),
            nn.ConvTranspose2d(8, 1, 3, stride=2, padding=1, output_padding=1), # 1 x 32 x 32
            nn.Sigmoid(),
        )
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 4, 4, stride=2, padding=1),                            # 4 x 16 x 16
            nn.SiLU(),
            nn.Conv2d(4, 8, 4, stride=4, padding=0),                            # 8 x 4 x 4
            nn.ELU(alpha=0.8),
            nn.Flatten(),
            nn.Linear(128, 16),
            nn.Softplus(beta=2),
            nn.Linear(16, 8),
            nn.Tanh(),
        )


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join("Tests", "Fixtures", "torch")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(1234)
    vae = VAE()
    with torch.no_grad():   # non-trivial batchnorm statistics and affine parameters
        for m in vae.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(0.2 * torch.randn_like(m.running_mean))
                m.running_var.copy_(0.5 + torch.rand_like(m.running_var))
                m.weight.copy_(1 + 0.3 * torch.randn_like(m.weight))
                m.bias.copy_(0.2 * torch.randn_like(m.bias))
                m.num_batches_tracked.fill_(100)
    vae.eval()

    state = {k: v.detach().contiguous() for k, v in vae.state_dict().items()}
    metadata = {
        "georepl.format": "1",
        "georepl.latent_dim": "4",
        "georepl.data_shape": "[1,32,32]",
        "georepl.decoder": json.dumps(georepl_layers(vae.decoder, "decoder")),
        "georepl.encoder": json.dumps(georepl_layers(vae.encoder, "encoder")),
        "georepl.name": "torch-example",
        "georepl.description": "a small random conv VAE exported from PyTorch (scripts/export_torch_example.py)",
    }
    save_file(state, os.path.join(out, "torch_example.safetensors"), metadata=metadata)

    g = torch.Generator().manual_seed(99)
    z = torch.randn(3, 4, generator=g, dtype=torch.float64)
    u = torch.randn(4, generator=g, dtype=torch.float64)
    v = torch.randn(4, generator=g, dtype=torch.float64)
    with torch.no_grad():
        decoded_f32 = vae.decoder(z.float()).reshape(3, -1).double()
    vae64 = vae.double()
    dec = lambda t: vae64.decoder(t.unsqueeze(0)).reshape(-1)
    with torch.no_grad():
        decoded_f64 = vae64.decoder(z).reshape(3, -1)
        x = decoded_f64[:2] + 0.05 * torch.randn(2, 1024, generator=g, dtype=torch.float64)
        encoded = vae64.encoder(x.reshape(2, 1, 32, 32))
    jac = torch.autograd.functional.jacobian(dec, z[0])
    d2 = torch.func.jvp(lambda t: torch.func.jvp(dec, (t,), (u,))[1], (z[0],), (v,))[1]
    expected = {
        "z": z, "decoded_f32": decoded_f32, "decoded_f64": decoded_f64, "jacobian": jac.detach(),
        "u": u, "v": v, "d2": d2.detach(), "x": x, "encoded_f64": encoded,
    }
    save_file({k: t.contiguous() for k, t in expected.items()}, os.path.join(out, "torch_example_expected.safetensors"),
              metadata={"torch": torch.__version__})
    for name in ("torch_example.safetensors", "torch_example_expected.safetensors"):
        print(name, os.path.getsize(os.path.join(out, name)), "bytes")


if __name__ == "__main__":
    main()
