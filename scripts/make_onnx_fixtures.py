#!/usr/bin/env python3
"""Export small random PyTorch decoders as ONNX graphs, with torch's own outputs and float64
derivatives as the reference for the ONNX loader's parity tests (SPEC "ONNX").

    pip install torch onnx onnxscript safetensors numpy      (onnxruntime: optional check)
    python3 scripts/make_onnx_fixtures.py [OUT_DIR]          (default Tests/Fixtures/onnx)

Models (eval(), fixed seeds, He-style random weights, batchnorm running statistics from a
training-mode pass over random latents, every norm's affine parameters and PReLU slopes drawn at
random; the graph input is the latent [1, d], except dcgan's [1, nz, 1, 1]):
    mlp                 Linear-ELU-Linear-ELU(0.7)-Linear-Sigmoid                     [5] -> [48]
    dcgan               the pytorch/examples DCGAN generator (ConvTranspose2d, BatchNorm2d,
                        ReLU, Tanh), nz=6, ngf=4, one stage short (32x32)        [6] -> [1,32,32]
    vae_ln_gelu         Linear, LayerNorm, GELU, Unflatten, ConvTranspose2d, LayerNorm over
                        [C,H,W], SiLU, Mish, PReLU (per channel), Sigmoid          [6] -> [3,16,16]
    upsample_conv       Unflatten, bilinear Upsample, Conv2d(padding=1 / 'same' / dilation 2 with
                        groups 4), LeakyReLU, Softplus(beta=2), Hardtanh           [4] -> [3,16,16]
    resblock_groupnorm  a modern VAE decoder (the "done-when" model): conv_in, three ResnetBlocks
                        (GroupNorm-SiLU-Conv twice, residual add, 1x1 nin_shortcut), nearest
                        Upsample + Conv twice, GroupNorm-SiLU-conv_out             [8] -> [3,16,16]
    dropout_skip_tanh   GELU(tanh), Dropout, Softplus, Identity, torch.cat skip, Hardtanh,
                        ConvTranspose2d, Dropout2d, LeakyReLU, 0.5*tanh(x)+0.5    [5] -> [3,16,16]
    attention           diffusers-VAE AttnBlock (GroupNorm, 1x1-conv q/k/v, [B,HW,C],
                        softmax(q k^T * C^-0.5) v, proj_out, residual), then a diffusers
                        Attention with Linear q/k/v                                [6] -> [3,16,16]
    attention_sdpa      (extra) that Linear q/k/v block through F.scaled_dot_product_attention,
                        as diffusers' AttnProcessor2_0 does                        [6] -> [1,16,16]

For each model M it writes
    M.onnx + M.onnx.data     the default torch.onnx.export(model, (z,), path): the dynamo exporter,
                             opset 20 in torch 2.15; M.onnx.data (every initializer over 256 bytes)
                             is kept exactly as torch wrote it
    M_legacy.onnx            the TorchScript exporter (dynamo=False, opset_version=17), one file
    M_opset18.onnx           the dynamo exporter at opset_version=18, one file; written only when
                             its (op, attribute) inventory differs from M.onnx's
    M_expected.safetensors   F64 tensors; metadata data_shape "[C,H,W]" (or "[D]"), input_shape:
        z            [3, d]     latent points (seeded normal)
        decoded      [3, D]     model(z) on a float64 copy of the model (the exported float32
                                weights widened exactly), flattened row-major
        decoded_f32  [3, D]     the float32 model's output
        jacobian     [D, d]     dg/dz at z[0] (float64, jacfwd; checked against jacrev)
        u, v         [d]        two directions;  d2 [D] = D2g(z[0])[u, v], forward-over-reverse
                                (torch's jvp of jvp is wrong through LayerNorm), projections
                                checked against reverse-over-reverse Hessians
        c            [D]        a cotangent;     hvp [d, d] = Hessian of <c, g(z)> at z[0]
                                (torch.func.hessian, checked against jacrev of jacrev)
        onnx_f64.<stem> [D]     the float64 evaluation of the ONNX file <stem>.onnx at z[0]: its
                                own float32 constants and attributes (fused BatchNorm, GELU
                                constants, LeakyReLU 0.2 as 0.20000000298...) widened exactly,
                                run by onnx.reference (exact float64 Gelu and Mish); it differs
                                from decoded[0] by up to ~4e-7, see README.md
plus mlp_external.onnx + mlp_external.onnx.data (mlp.onnx re-saved by onnx.save_model with every
tensor external, size_threshold=0) and README.md (per file: opsets, inputs and outputs, initializer
types, every op with its attributes and constant inputs; the onnxruntime and float64 checks;
notes on what the exporters emit).

Deterministic: a second run writes byte-identical files (same torch, onnx, onnxscript versions,
which README.md and every *_expected metadata record).
"""
import contextlib
import copy
import io
import json
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.numpy import load_file
from torch.nn.attention import SDPBackend, sdpa_kernel

import onnx
from onnx import numpy_helper


# ---------------------------------------------------------------------------------------------
# Models


class DCGANGenerator(nn.Module):
    """The generator of pytorch/examples dcgan, one stage shorter (32x32), nc=1."""

    def __init__(self, nz=6, ngf=4, nc=1):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False),       # (ngf*4) x 4 x 4
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),  # (ngf*2) x 8 x 8
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),      # ngf x 16 x 16
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),           # nc x 32 x 32
            nn.Tanh(),
        )

    def forward(self, x):
        return self.main(x)


def mlp():
    return nn.Sequential(
        nn.Linear(5, 32), nn.ELU(),
        nn.Linear(32, 32), nn.ELU(alpha=0.7),
        nn.Linear(32, 48), nn.Sigmoid(),
    )


def vae_ln_gelu():
    return nn.Sequential(
        nn.Linear(6, 32),
        nn.LayerNorm(32),
        nn.GELU(),
        nn.Linear(32, 16 * 4 * 4),
        nn.Unflatten(1, (16, 4, 4)),
        nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1),                      # 8 x 8 x 8
        nn.LayerNorm([8, 8, 8], eps=1e-6),
        nn.SiLU(),
        nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1),     # 4 x 16 x 16
        nn.Mish(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.PReLU(4),
        nn.Conv2d(4, 3, 1),
        nn.Sigmoid(),
    )


def upsample_conv():
    return nn.Sequential(
        nn.Linear(4, 8 * 4 * 4),
        nn.Unflatten(1, (8, 4, 4)),
        nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),      # 8 x 8 x 8
        nn.Conv2d(8, 8, 3, padding=1),
        nn.LeakyReLU(0.1),
        nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),      # 8 x 16 x 16
        nn.Conv2d(8, 8, 3, padding="same"),
        nn.Softplus(beta=2.0),
        nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=4),
        nn.Hardtanh(-1.5, 1.5),
        nn.Conv2d(8, 3, 1),
    )


class ResnetBlock(nn.Module):
    """diffusers/ldm ResnetBlock2D without time embedding: x + conv(silu(gn(conv(silu(gn(x))))))."""

    def __init__(self, cin, cout, groups=4, eps=1e-6):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=eps)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = nn.GroupNorm(groups, cout, eps=eps)
        self.dropout = nn.Dropout(0.1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.nin_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.nin_shortcut(x) + h


class ResblockGroupNorm(nn.Module):
    def __init__(self, d=8):
        super().__init__()
        self.fc = nn.Linear(d, 16 * 4 * 4)
        self.conv_in = nn.Conv2d(16, 16, 3, padding=1)
        self.block1 = ResnetBlock(16, 16)
        self.up1 = nn.Upsample(scale_factor=2.0, mode="nearest")                # 16 x 8 x 8
        self.up1_conv = nn.Conv2d(16, 16, 3, padding=1)
        self.block2 = ResnetBlock(16, 8)
        self.up2 = nn.Upsample(scale_factor=2.0, mode="nearest")                # 8 x 16 x 16
        self.up2_conv = nn.Conv2d(8, 8, 3, padding=1)
        self.block3 = ResnetBlock(8, 8)
        self.norm_out = nn.GroupNorm(4, 8, eps=1e-6)
        self.conv_out = nn.Conv2d(8, 3, 3, padding=1)

    def forward(self, z):
        h = self.fc(z).reshape(-1, 16, 4, 4)
        h = self.conv_in(h)
        h = self.block1(h)
        h = self.up1_conv(self.up1(h))
        h = self.block2(h)
        h = self.up2_conv(self.up2(h))
        h = self.block3(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class DropoutSkipTanh(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Sequential(
            nn.Linear(5, 48), nn.GELU(approximate="tanh"), nn.Dropout(0.3),
            nn.Linear(48, 4 * 8 * 8), nn.Softplus(),
        )
        self.branch_a = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.Hardtanh())
        self.branch_b = nn.Identity()
        self.up = nn.ConvTranspose2d(8, 6, 4, stride=2, padding=1)              # 6 x 16 x 16
        self.drop2d = nn.Dropout2d(0.2)
        self.act = nn.LeakyReLU(0.2)
        self.out = nn.Conv2d(6, 3, 3, padding=1)

    def forward(self, z):
        h = self.head(z).reshape(1, 4, 8, 8)
        h = torch.cat([self.branch_a(h), self.branch_b(h)], dim=1)              # 8 x 8 x 8
        h = self.act(self.drop2d(self.up(h)))
        return 0.5 * torch.tanh(self.out(h)) + 0.5


class AttnBlockConv(nn.Module):
    """ldm / diffusers-VAE AttnBlock: GroupNorm, 1x1 conv q, k, v, softmax(q k^T / sqrt(C)) v."""

    def __init__(self, c, groups=4):
        super().__init__()
        self.norm = nn.GroupNorm(groups, c, eps=1e-6)
        self.q = nn.Conv2d(c, c, 1)
        self.k = nn.Conv2d(c, c, 1)
        self.v = nn.Conv2d(c, c, 1)
        self.proj_out = nn.Conv2d(c, c, 1)

    def forward(self, x):
        h = self.norm(x)
        q, k, v = self.q(h), self.k(h), self.v(h)
        b, c, hh, ww = q.shape
        q = q.reshape(b, c, hh * ww).permute(0, 2, 1)          # b, hw, c
        k = k.reshape(b, c, hh * ww)                           # b, c, hw
        w = torch.bmm(q, k) * (int(c) ** (-0.5))               # b, hw, hw
        w = torch.softmax(w, dim=2)
        v = v.reshape(b, c, hh * ww)
        h = torch.bmm(v, w.permute(0, 2, 1))                   # b, c, hw
        h = h.reshape(b, c, hh, ww)
        return x + self.proj_out(h)


class AttnBlockLinear(nn.Module):
    """diffusers Attention (AttnProcessor): GroupNorm, [B,HW,C], Linear q/k/v, softmax, Linear out."""

    def __init__(self, c, groups=4, sdpa=False):
        super().__init__()
        self.group_norm = nn.GroupNorm(groups, c, eps=1e-6)
        self.to_q = nn.Linear(c, c)
        self.to_k = nn.Linear(c, c)
        self.to_v = nn.Linear(c, c)
        self.to_out = nn.Linear(c, c)
        self.sdpa = sdpa

    def forward(self, x):
        b, c, hh, ww = x.shape
        h = self.group_norm(x).view(b, c, hh * ww).transpose(1, 2)             # b, hw, c
        q, k, v = self.to_q(h), self.to_k(h), self.to_v(h)
        if self.sdpa:
            h = F.scaled_dot_product_attention(q.unsqueeze(1), k.unsqueeze(1), v.unsqueeze(1)).squeeze(1)
        else:
            w = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * c ** -0.5, dim=-1)
            h = torch.matmul(w, v)
        h = self.to_out(h).transpose(-1, -2).reshape(b, c, hh, ww)
        return x + h


class Attention(nn.Module):
    def __init__(self, d=6):
        super().__init__()
        self.fc = nn.Linear(d, 16 * 4 * 4)
        self.unflatten = nn.Unflatten(1, (16, 4, 4))
        self.conv_in = nn.Conv2d(16, 16, 3, padding=1)
        self.attn1 = AttnBlockConv(16)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")                  # 16 x 8 x 8
        self.conv1 = nn.Conv2d(16, 8, 3, padding=1)
        self.attn2 = AttnBlockLinear(8)
        self.deconv = nn.ConvTranspose2d(8, 8, 4, stride=2, padding=1)         # 8 x 16 x 16
        self.conv_out = nn.Conv2d(8, 3, 3, padding=1)

    def forward(self, z):
        h = self.conv_in(self.unflatten(self.fc(z)))
        h = self.attn1(h)
        h = F.silu(self.conv1(self.up(h)))
        h = self.attn2(h)
        h = F.silu(self.deconv(h))
        return self.conv_out(h)


class AttentionSDPA(nn.Module):
    def __init__(self, d=6):
        super().__init__()
        self.fc = nn.Linear(d, 8 * 8 * 8)
        self.attn = AttnBlockLinear(8, sdpa=True)
        self.deconv = nn.ConvTranspose2d(8, 1, 4, stride=2, padding=1)         # 1 x 16 x 16

    def forward(self, z):
        h = self.attn(self.fc(z).reshape(1, 8, 8, 8))
        return torch.sigmoid(self.deconv(h))


# name, constructor, model-input shape for one latent (batch 1), seed
MODELS = [
    ("mlp", mlp, (1, 5), 101),
    ("dcgan", DCGANGenerator, (1, 6, 1, 1), 102),
    ("vae_ln_gelu", vae_ln_gelu, (1, 6), 103),
    ("upsample_conv", upsample_conv, (1, 4), 104),
    ("resblock_groupnorm", ResblockGroupNorm, (1, 8), 105),
    ("dropout_skip_tanh", DropoutSkipTanh, (1, 5), 106),
    ("attention", Attention, (1, 6), 107),
    ("attention_sdpa", AttentionSDPA, (1, 6), 108),
]


def init_weights(model, gain=1.4):
    """He-style N(0, gain^2/fan_in) weights and small random biases: PyTorch's default init
    (and DCGAN's N(0, 0.02)) shrinks the signal at every layer of these narrow nets, leaving
    Jacobians of order 1e-3 and, in the DCGAN, every ReLU of a layer dead."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear):
                fan_in = m.in_features
            elif isinstance(m, nn.Conv2d):
                fan_in = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
            elif isinstance(m, nn.ConvTranspose2d):   # taps that reach one output pixel
                fan_in = m.in_channels // m.groups * max(1, m.kernel_size[0] // m.stride[0]) \
                    * max(1, m.kernel_size[1] // m.stride[1])
            else:
                continue
            m.weight.normal_(0.0, gain / fan_in ** 0.5)
            if m.bias is not None:
                m.bias.normal_(0.0, 0.1)


def randomise_norms(model, in_shape):
    """Non-trivial affine parameters and running statistics, so that they matter: batchnorm's
    running statistics are those of a training-mode pass over 256 random latents (as a trained
    model's would be: mean != 0, var != 1), then every affine weight and bias is drawn."""
    bns = [m for m in model.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
    with torch.no_grad():
        if bns:
            for m in bns:
                m.reset_running_stats()
                m.momentum = None           # cumulative average over the calibration pass
            model.train()
            model(torch.randn((256,) + tuple(in_shape[1:])))
            for m in bns:
                m.momentum = 0.1
                m.num_batches_tracked.fill_(100)
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)):
                m.weight.copy_(1 + 0.3 * torch.randn_like(m.weight))
                m.bias.copy_(0.2 * torch.randn_like(m.bias))
            if isinstance(m, nn.PReLU):
                m.weight.copy_(0.05 + 0.4 * torch.rand_like(m.weight))
    model.eval()


# ---------------------------------------------------------------------------------------------
# Export


@contextlib.contextmanager
def quiet():
    """Silence the exporters' progress lines and warnings (they go to stdout/stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        warnings.simplefilter("ignore")
        yield out, err


def export_all(name, model, example, out):
    """Write name.onnx (default exporter), name_legacy.onnx, name_opset18.onnx (if it differs)."""
    notes = {}
    path = os.path.join(out, f"{name}.onnx")
    for p in (path, path + ".data"):
        if os.path.exists(p):
            os.remove(p)
    try:
        with quiet():
            torch.onnx.export(model, (example,), path)
    except Exception as e:  # recorded in the README
        notes["default"] = f"FAILED: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    if os.path.exists(path + ".data") and os.path.getsize(path + ".data") == 0:
        os.remove(path + ".data")   # torch leaves an empty .data when no tensor is over 256 bytes

    legacy = os.path.join(out, f"{name}_legacy.onnx")
    try:
        with quiet():
            torch.onnx.export(model, (example,), legacy, dynamo=False, opset_version=17)
    except Exception as e:
        notes["legacy"] = f"FAILED: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"

    o18 = os.path.join(out, f"{name}_opset18.onnx")
    if os.path.exists(o18):
        os.remove(o18)
    try:
        with quiet():
            prog = torch.onnx.export(model, (example,), opset_version=18)
        prog.save(o18, external_data=False)
        if os.path.exists(path) and op_signature(o18) == op_signature(path):
            os.remove(o18)
    except Exception as e:
        notes["opset18"] = f"FAILED: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    return notes


def op_signature(path):
    return json.dumps(sorted(set(pair for pair in file_inventory(path)["pairs"])))


# ---------------------------------------------------------------------------------------------
# Reference values


def save_f64_safetensors(path, tensors, metadata):
    """safetensors with a deterministic header (safetensors' save_file orders the metadata
    map differently from run to run): keys sorted, data in key order, header padded with
    spaces to 8 bytes as save_file does."""
    header, blobs, off = {"__metadata__": dict(sorted(metadata.items()))}, [], 0
    for k in sorted(tensors):
        a = np.ascontiguousarray(tensors[k].detach().numpy().astype("<f8"))
        header[k] = {"dtype": "F64", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as fh:
        fh.write(len(h).to_bytes(8, "little") + h + b"".join(blobs))
    back = load_file(path)
    assert all(np.array_equal(back[k], tensors[k].numpy()) for k in tensors), path


def reference(name, model, in_shape):
    """The torch reference tensors (float64) and the safetensors metadata."""
    d = in_shape[1]
    g = torch.Generator().manual_seed(1000 + sum(map(ord, name)))
    z = torch.randn(3, d, generator=g, dtype=torch.float64)
    u = torch.randn(d, generator=g, dtype=torch.float64)
    v = torch.randn(d, generator=g, dtype=torch.float64)

    with torch.no_grad():
        y32 = torch.cat([model(z[i].float().reshape(in_shape)) for i in range(3)])
    data_shape = list(y32.shape[1:])
    decoded_f32 = y32.reshape(3, -1).double()
    D = decoded_f32.shape[1]
    c = torch.randn(D, generator=g, dtype=torch.float64)

    m64 = copy.deepcopy(model).double()   # the exported float32 weights, widened exactly
    f = lambda t: m64(t.reshape(in_shape)).reshape(-1)
    with torch.no_grad():
        decoded = torch.cat([f(z[i]).unsqueeze(0) for i in range(3)])
    z0 = z[0].clone()
    # SDPA's fused CPU kernel has no forward-mode AD; its math form is the same formula.
    # d2 is forward-over-reverse: torch's forward-over-forward (jvp of jvp) is wrong through
    # LayerNorm (torch 2.15; off by O(1) in vae_ln_gelu). Independent checks: jacfwd against
    # jacrev, and <c_i, d2> against u^T H_i v for 4 random c_i, H_i by reverse-over-reverse.
    with sdpa_kernel(SDPBackend.MATH):
        jac = torch.func.jacfwd(f)(z0)
        jac_r = torch.func.jacrev(f)(z0)
        d2 = torch.func.jvp(lambda t: torch.func.jacrev(f)(t) @ u, (z0,), (v,))[1]
        d2_ff = torch.func.jvp(lambda t: torch.func.jvp(f, (t,), (u,))[1], (z0,), (v,))[1]
        hvp = torch.func.hessian(lambda t: torch.dot(c, f(t)))(z0)
        cs = torch.cat([c.unsqueeze(0), torch.randn(3, D, generator=g, dtype=torch.float64)])
        Hs = [torch.func.jacrev(torch.func.jacrev(lambda t: torch.dot(ci, f(t))))(z0) for ci in cs]
    rel = lambda a, b: float((a - b).abs().max() / b.abs().max().clamp_min(1e-300))
    proj = torch.stack([torch.dot(ci, d2) for ci in cs]).detach()
    proj_rr = torch.stack([u @ H @ v for H in Hs]).detach()
    checks = {"jacfwd_vs_jacrev": rel(jac.detach(), jac_r.detach()),
              "hessian_vs_rev_rev": rel(hvp.detach(), Hs[0].detach()),
              "c_i.d2_vs_uH_iv": rel(proj, proj_rr),
              "jvp_of_jvp_vs_d2": rel(d2_ff.detach(), d2.detach())}
    for k in ("jacfwd_vs_jacrev", "hessian_vs_rev_rev", "c_i.d2_vs_uH_iv"):
        assert checks[k] < 1e-9, (name, k, checks[k])
    tensors = {"z": z, "decoded": decoded, "decoded_f32": decoded_f32, "jacobian": jac,
               "u": u, "v": v, "d2": d2, "c": c, "hvp": hvp}
    tensors = {k: t.detach().to(torch.float64).contiguous() for k, t in tensors.items()}
    meta = {
        "data_shape": "[" + ",".join(map(str, data_shape)) + "]",
        "input_shape": "[" + ",".join(map(str, in_shape)) + "]",
        "model": name,
        "torch": torch.__version__, "onnx": onnx.__version__,
        "maker": "scripts/make_onnx_fixtures.py",
    }
    return tensors, meta, {"data_shape": data_shape, "D": D, "d": d, "in_shape": in_shape,
                           "z": z.numpy(), "decoded": decoded.numpy(), "decoded_f32": decoded_f32.numpy(),
                           "f64_vs_f32": float((decoded - decoded_f32).abs().max()),
                           "jac_absmax": float(jac.detach().abs().max()),
                           "jac_zero_rows": int((jac.detach().abs().sum(1) == 0).sum()),
                           "checks": checks}


# The float64 meaning of an ONNX file: every FLOAT initializer, Constant and Cast widened to
# DOUBLE exactly, then onnx.reference; Gelu and Mish, which onnx.reference runs through their
# schema function bodies (float32 constants), are replaced by exact float64 implementations.


def onnx_to_f64(m):
    from onnx import TensorProto
    m = onnx.ModelProto.FromString(m.SerializeToString())
    g = m.graph
    for i, t in enumerate(g.initializer):
        if t.data_type == TensorProto.FLOAT:
            g.initializer[i].CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float64), t.name))
    for n in g.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_type == TensorProto.FLOAT:
                a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t).astype(np.float64), a.t.name))
            if n.op_type in ("Cast", "CastLike") and a.name == "to" and a.i == TensorProto.FLOAT:
                a.i = TensorProto.DOUBLE
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        if vi.type.tensor_type.elem_type == TensorProto.FLOAT:
            vi.type.tensor_type.elem_type = TensorProto.DOUBLE
    return m


def onnx_f64(path, ref):
    """The file's graph evaluated in float64 at the three latent points: [3, D]."""
    import math
    from onnx.reference import ReferenceEvaluator
    from onnx.reference.op_run import OpRun

    class Gelu(OpRun):
        op_domain = ""

        def _run(self, x, approximate=None):
            if (approximate or "none") == "tanh":
                k = math.sqrt(2.0 / math.pi)
                return (0.5 * x * (1.0 + np.tanh(k * (x + 0.044715 * x ** 3))),)
            return (0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0))),)

    class Mish(OpRun):
        op_domain = ""

        def _run(self, x):
            return (x * np.tanh(np.logaddexp(0.0, x)),)

    class Erf(OpRun):
        # onnx.reference's Erf is np.vectorize(erf, otypes=["f"]): float32 even on doubles.
        op_domain = ""

        def _run(self, x):
            return (np.vectorize(math.erf, otypes=[np.float64])(x),)

    m = onnx_to_f64(onnx.load(path))
    ev = ReferenceEvaluator(m, new_ops=[Gelu, Mish, Erf])
    name = m.graph.input[0].name
    ys = [ev.run(None, {name: ref["z"][i].reshape(ref["in_shape"])})[0].reshape(-1) for i in range(3)]
    return np.stack(ys).astype(np.float64)


# ---------------------------------------------------------------------------------------------
# Inventory


SHAPE_OPS = {"Shape", "Gather", "Concat", "Unsqueeze", "Squeeze", "Slice", "ConstantOfShape",
             "Range", "Expand", "Size", "Cast", "Equal", "Where"}


def fmt_value(v):
    if isinstance(v, float):
        return repr(float(np.float32(v)))
    if isinstance(v, bytes):
        return v.decode()
    return str(v)


def attr_value(a):
    """The attribute's value as a short exact string."""
    t = a.type
    A = onnx.AttributeProto
    if t == A.FLOAT:
        return fmt_value(a.f)
    if t == A.INT:
        return str(a.i)
    if t == A.STRING:
        return a.s.decode()
    if t == A.FLOATS:
        return "[" + ",".join(fmt_value(x) for x in a.floats) + "]"
    if t == A.INTS:
        return "[" + ",".join(str(x) for x in a.ints) + "]"
    if t == A.STRINGS:
        return "[" + ",".join(x.decode() for x in a.strings) + "]"
    if t == A.TENSOR:
        arr = numpy_helper.to_array(a.t)
        s = f"tensor<{onnx.TensorProto.DataType.Name(a.t.data_type)}{list(arr.shape)}>"
        if arr.size <= 8:
            s += "(" + ",".join(fmt_value(x.item()) for x in arr.reshape(-1)) + ")"
        return s
    if t == A.GRAPH:
        return "<graph>"
    return f"<{A.AttributeType.Name(t)}>"


def shape_of(vi):
    tt = vi.type.tensor_type
    dims = [str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?") for d in tt.shape.dim]
    return f"{onnx.TensorProto.DataType.Name(tt.elem_type)}[{','.join(dims)}]"


def file_inventory(path):
    raw = onnx.load(path, load_external_data=False)     # initializers as stored (external or not)
    m = onnx.load(path)                                 # with their values
    consts = {init.name: numpy_helper.to_array(init) for init in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    inits = {init.name for init in m.graph.initializer}
    ops, pairs, scalar_inputs, signatures = {}, [], {}, {}

    def kind(x):
        if x == "":
            return "''"
        if x in inits:
            a = consts[x]
            return f"init:{a.dtype}{list(a.shape)}"
        if x in consts:
            a = consts[x]
            return f"Constant:{a.dtype}{list(a.shape)}"
        return "x"

    def walk(graph):
        for n in graph.node:
            key = n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}::{n.op_type}"
            ops[key] = ops.get(key, 0) + 1
            if not n.attribute:
                pairs.append((key, ""))
            for a in n.attribute:
                pairs.append((key, f"{a.name}={attr_value(a)}"))
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g)
            if n.op_type != "Constant":
                signatures.setdefault(key, set()).add(
                    "(" + ", ".join(kind(x) for x in n.input) + f") -> {len(n.output)}")
                for i, x in enumerate(n.input):
                    if x in consts and consts[x].size <= 4:
                        vals = ",".join(fmt_value(e.item()) for e in consts[x].reshape(-1))
                        scalar_inputs.setdefault(key, set()).add(
                            f"in{i}={consts[x].dtype}{list(consts[x].shape)}({vals})")
    walk(m.graph)
    for fn in m.functions:
        walk(fn)
    storage = {}

    def store(t, where):
        if t.data_location == onnx.TensorProto.EXTERNAL:
            k = f"{where} external({','.join(sorted(e.key for e in t.external_data))})"
        else:
            k = f"{where} " + next((f for f in ("raw_data", "float_data", "int64_data", "int32_data",
                                                "double_data") if len(getattr(t, f))), "empty")
        storage[k] = storage.get(k, 0) + 1
    for t in raw.graph.initializer:
        store(t, "initializer")
    for n in raw.graph.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.TENSOR:
                store(a.t, f"{n.op_type}.{a.name}")
    init_types = {}
    for init in raw.graph.initializer:
        k = onnx.TensorProto.DataType.Name(init.data_type)
        init_types[k] = init_types.get(k, 0) + 1
    ext = sorted({e.value for init in raw.graph.initializer for e in init.external_data if e.key == "location"})
    n_ext = sum(1 for init in raw.graph.initializer if init.data_location == onnx.TensorProto.EXTERNAL)
    return {
        "file": os.path.basename(path),
        "ir_version": raw.ir_version,
        "producer": f"{raw.producer_name} {raw.producer_version}",
        "opset_import": {(o.domain or "ai.onnx"): o.version for o in raw.opset_import},
        "functions": [f"{f.domain}::{f.name}" for f in raw.functions],
        "inputs": [f"{i.name}: {shape_of(i)}" for i in raw.graph.input],
        "outputs": [f"{o.name}: {shape_of(o)}" for o in raw.graph.output],
        "value_info": len(raw.graph.value_info),
        "nodes": len(raw.graph.node),
        "ops": dict(sorted(ops.items())),
        "pairs": sorted(set(pairs)),
        "input_signatures": {k: sorted(v) for k, v in sorted(signatures.items())},
        "scalar_const_inputs": {k: sorted(v) for k, v in sorted(scalar_inputs.items())},
        "initializers": init_types,
        "n_initializers": len(raw.graph.initializer),
        "storage": dict(sorted(storage.items())),
        "external_data": {"locations": ext, "tensors": n_ext},
        "shape_subgraph": sorted(set(ops) & {"Shape", "ConstantOfShape", "Range", "Size", "Expand"}),
        "has_Shape": "Shape" in ops,
    }


def ort_check(path, ref):
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    ys = [sess.run(None, {name: ref["z"][i].astype(np.float32).reshape(ref["in_shape"])})[0].reshape(-1)
          for i in range(3)]
    return float(np.abs(np.stack(ys).astype(np.float64) - ref["decoded_f32"]).max())


# ---------------------------------------------------------------------------------------------
# README


NOTES = """\
## Notes (observed with the versions above)

- The default export is the dynamo exporter at opset 20 (`torch.onnx._constants.ONNX_DEFAULT_OPSET`),
  not 18. It always writes `M.onnx.data` (every initializer over 256 bytes; smaller ones and the
  int64 shape tensors stay inline), so every `M.onnx` here needs its `.onnx.data` beside it.
  Its nodes carry `metadata_props` (namespace, stack traces), which is why `M.onnx` is large.
- Every tensor (initializers and Constant values) is little-endian `raw_data` or external data
  with keys location, offset, length (no checksum; offsets contiguous, no alignment padding);
  no float_data/int64_data fields. Initializers are FLOAT, plus INT64 shape/axes tensors in the
  dynamo files. No local functions, no custom domains, no dim_param: all shapes are static.
- The dynamo exporter runs the onnxscript optimizer: BatchNorm is folded into the preceding
  ConvTranspose (dcgan.onnx has no BatchNormalization; its ConvTranspose weights and biases are
  the fused float32 products), Dropout and Identity vanish (in both exporters), and shapes are
  constants (no Shape node in any dynamo file).
- Reshape: dynamo writes allowzero=1 for view/reshape/Unflatten, but allowzero=0 inside its
  GroupNorm and SDPA lowerings, whose shape [0, G, -1] means 0 = copy that input dimension; the
  legacy exporter writes allowzero=0 or no attribute (default 0). -1 occurs in both.
- The legacy exporter keeps BatchNormalization (`training_mode=0`, `momentum=0.9`) and writes
  shape arithmetic: for `nn.Unflatten` (Shape, Slice, Concat, plus constant-only `Mod(3, 2)` and
  `Reshape` nodes from dim wrapping), for GroupNorm (`Reshape(y, Shape(x))` back), for
  `x.shape`-derived sizes (constant-only `Pow(8.0, -0.5)` for `c ** -0.5`) and for SDPA's default
  scale (Shape, Slice, Cast(to=FLOAT), Sqrt, Div). A loader must fold such constant and shape
  sub-graphs at load time (the input shape is static: no dim_param anywhere).
- GroupNorm is never GroupNormalization: both exporters (also dynamo at opset 18) emit
  Reshape([0, G, -1]) -> InstanceNormalization(scale ones[G], bias zeros[G], epsilon) ->
  Reshape -> Mul(gamma[C,1,1]) -> Add(beta[C,1,1]).
- SiLU is `Mul(x, Sigmoid(x))` in both. Hardtanh is Clip with min/max as inputs (initializers in
  dynamo, Constant nodes in legacy). PReLU's slope is [C,1,1] (legacy) or [1,C,1,1] (dynamo).
  Constants can be either operand of Add/Mul (legacy writes `Add(bias, MatMul(..))`, `Mul(0.5, x)`).
- Softplus(beta=1) is a bare Softplus in legacy (torch's threshold=20 dropped) and
  `Where(Greater(x, 20), x, Softplus(x))` in dynamo; Softplus(beta=2) is `Div(Softplus(Mul(x, 2)), 2)`,
  with `Where(Greater(Mul(x, 2), 20), x, ...)` in dynamo.
- GELU: opset 20 dynamo emits `Gelu(approximate=none|tanh)`; opset 18 dynamo and legacy decompose
  it with float32 constants: erf form `x * (0.5 * (Erf(x / 1.4142135) + 1))` (operand order varies),
  tanh form `0.5 * x * (1 + Tanh(0.7978846 * (x + 0.044715 * x^3)))` with x^3 as `Mul(x, Mul(x, x))`
  (legacy) or `Pow(x, 3)` (dynamo opset 18). Mish: a Mish op at opset >= 18, `x * Tanh(Softplus(x))`
  in legacy (opset 17).
- Linear on a 2-D input is Gemm(transB=1); on a 3-D input ([B, HW, C]) it is MatMul with the
  weight stored pre-transposed ([in, out]) then Add(bias). bmm/matmul are MatMul (3-D and 4-D
  batched); softmax keeps torch's axis (2 or -1).
- F.scaled_dot_product_attention: both exporters multiply q and k^T each by sqrt(scale) before
  the MatMul (dynamo: a float32 constant 8^-0.25; legacy: computed from shapes), with
  Unsqueeze/Squeeze (axes as an input) around it.
- Upsample(nearest) is Resize(mode=nearest, coordinate_transformation_mode=asymmetric,
  nearest_mode=floor) and Upsample(bilinear, align_corners=False) is Resize(mode=linear,
  half_pixel), both with roi '' and constant scales [1,1,2,2] (no sizes input); dynamo also
  writes the defaults antialias=0, exclude_outside=0, extrapolation_value=0,
  keep_aspect_ratio_policy=stretch, and both write cubic_coeff_a=-0.75.
- Conv2d(padding='same') is explicit pads in dynamo but `auto_pad=SAME_UPPER` (no pads) in legacy.
- Not an exporter matter but worth knowing: torch's forward-over-forward second derivative
  (`jvp` of `jvp`) through LayerNorm is wrong (35% off in vae_ln_gelu; InstanceNorm2d(affine)
  too, GroupNorm and BatchNorm(eval) are fine), hence d2 here is forward-over-reverse.
- Float attributes are float32 (LeakyRelu 0.2 is 0.20000000298023224, Elu 0.7, epsilons), and
  decomposition constants are float32, so a float64 evaluation of a file differs from torch's
  float64 `decoded` by up to the onnx_f64 column of "Checks per file". `M_expected.safetensors` also
  holds `onnx_f64.<file stem>` [D]: the float64 evaluation of that file's own graph at z[0]
  (initializers and constants widened exactly; onnx.reference, with exact float64 Gelu and Mish).
"""


def write_readme(out, invs, refs, notes, ort_diffs, f64_diffs):
    try:
        import onnxruntime as ort
        ort_v = ort.__version__
    except ImportError:
        ort_v = "not installed"
    import onnxscript
    L = []
    w = L.append
    w("# ONNX fixtures")
    w("")
    w("Written by `python3 scripts/make_onnx_fixtures.py [OUT_DIR]` (its docstring says what each model is); "
      "do not edit by hand.")
    w(f"Versions: torch {torch.__version__}, onnx {onnx.__version__}, onnxscript {onnxscript.__version__}, "
      f"onnxruntime {ort_v}, numpy {np.__version__}, python {sys.version.split()[0]}.")
    w("")
    w("Per model M:")
    w("- `M.onnx` + `M.onnx.data`: the default `torch.onnx.export(model, (z,), path)` (dynamo exporter, "
      "opset 20), the external data file exactly as torch wrote it.")
    w("- `M_legacy.onnx`: the TorchScript exporter, `dynamo=False, opset_version=17`, self-contained.")
    w("- `M_opset18.onnx` (only where its op inventory differs from `M.onnx`): dynamo exporter with "
      "`opset_version=18`, saved self-contained.")
    w("- `M_expected.safetensors` (all F64): z [3,d], decoded [3,D] (torch float64 copy of the float32 "
      "weights), decoded_f32 [3,D], jacobian [D,d] at z[0], u, v [d], d2 [D] = D2g(z0)[u,v], c [D], "
      "hvp [d,d] = Hessian of <c,g> at z0, and onnx_f64.<file stem> [D] for each ONNX file of M; "
      "metadata data_shape (output shape without batch), input_shape (the graph input, batch 1), "
      "model, torch, onnx.")
    w("- `mlp_external.onnx` + `mlp_external.onnx.data`: `mlp.onnx` re-saved by `onnx.save_model(m, path, "
      "save_as_external_data=True, all_tensors_to_one_file=True, location=\"mlp_external.onnx.data\", "
      "size_threshold=0)` (every initializer external).")
    w("")
    w("## Files")
    w("")
    w("| file | bytes |")
    w("| --- | --- |")
    for f in sorted(os.listdir(out)):
        if f != "README.md":
            w(f"| {f} | {os.path.getsize(os.path.join(out, f))} |")
    w("")
    w("## Models")
    w("")
    w("| model | graph input | data_shape | D | max abs(decoded - decoded_f32) | max abs(jacobian) | "
      "zero Jacobian rows | export failures |")
    w("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, r in refs.items():
        w(f"| {name} | {list(r['in_shape'])} | {r['data_shape']} | {r['D']} | {r['f64_vs_f32']:.2e} | "
          f"{r['jac_absmax']:.3g} | {r['jac_zero_rows']} | "
          f"{'; '.join(f'{k}: {v}' for k, v in notes.get(name, {}).items()) or 'none'} |")
    w("")
    w("Derivative cross-checks (max relative difference): jacobian is jacfwd, checked against jacrev; "
      "hvp is torch.func.hessian (jacfwd of jacrev), checked against jacrev of jacrev; d2 is "
      "forward-over-reverse (jvp of J(t)u with J from jacrev), checked by <c_i, d2> = u^T H_i v for c "
      "and 3 more random c_i with H_i reverse-over-reverse. The last column is torch's "
      "forward-over-forward (jvp of jvp) against d2: it is wrong wherever LayerNorm is on the path, "
      "so it is not used.")
    w("")
    ks = ["jacfwd_vs_jacrev", "hessian_vs_rev_rev", "c_i.d2_vs_uH_iv", "jvp_of_jvp_vs_d2"]
    w("| model | " + " | ".join(ks) + " |")
    w("| --- |" + " --- |" * len(ks))
    for name, r in refs.items():
        w(f"| {name} | " + " | ".join(f"{r['checks'][k]:.1e}" for k in ks) + " |")
    w("")
    w("## Checks per file")
    w("")
    w("ort: onnxruntime (CPU, float32) vs decoded_f32. onnx_f64: the file evaluated in float64 "
      "(see the last note) vs torch's float64 decoded; this is the floor for a float64 loader compared "
      "with `decoded`, while `onnx_f64.<stem>` should match to rounding.")
    w("")
    w("| file | ort max abs diff | onnx_f64 max abs diff |")
    w("| --- | --- | --- |")
    for f in ort_diffs:
        o = ort_diffs[f]
        w(f"| {f} | {o if isinstance(o, str) else f'{o:.2e}'} | {f64_diffs[f]:.2e} |")
    w("")
    w(NOTES)
    w("## Union of (op_type, attribute=value) over all files")
    w("")
    w("An empty attribute column means a node of that op with no attributes at all.")
    w("")
    union = {}
    for inv in invs:
        for op, p in inv["pairs"]:
            union.setdefault((op, p), []).append(inv["file"])
    w("| op_type | attribute=value | files |")
    w("| --- | --- | --- |")
    for (op, p), files in sorted(union.items()):
        w(f"| {op} | {p.replace('|', '/')} | {len(files)}: {', '.join(files)} |")
    w("")
    w("## Constant scalar inputs (initializer or Constant with <= 4 elements) by op, all files")
    w("")
    sc = {}
    for inv in invs:
        for op, vals in inv["scalar_const_inputs"].items():
            sc.setdefault(op, set()).update(vals)
    for op, vals in sorted(sc.items()):
        w(f"- {op}: " + "; ".join(sorted(vals)))
    w("")
    w("## Input signatures by op, all files")
    w("")
    w("Each input as x (computed), init:dtype[shape] (initializer), Constant:dtype[shape] (a Constant "
      "node's output) or '' (omitted optional input); then the number of outputs.")
    w("")
    sig = {}
    for inv in invs:
        for op, vals in inv["input_signatures"].items():
            for v in vals:
                sig.setdefault(op, {}).setdefault(v, []).append(inv["file"])
    for op, vals in sorted(sig.items()):
        for v, fs in sorted(vals.items()):
            w(f"- {op} {v}: {', '.join(fs)}")
    w("")
    w("## Per file")
    for inv in invs:
        w("")
        w(f"### {inv['file']}")
        w("")
        w(f"- producer {inv['producer']}, ir_version {inv['ir_version']}, opset_import "
          f"{json.dumps(inv['opset_import'])}, local functions: {inv['functions'] or 'none'}")
        w(f"- inputs: {'; '.join(inv['inputs'])}; outputs: {'; '.join(inv['outputs'])}")
        w(f"- {inv['nodes']} nodes; initializers: {inv['n_initializers']} {json.dumps(inv['initializers'])}; "
          f"external: {inv['external_data']['tensors']} tensors in {inv['external_data']['locations'] or 'none'}")
        w(f"- tensor storage: {json.dumps(inv['storage'])}; value_info entries: {inv['value_info']}")
        w(f"- shape ops: Shape {'present' if inv['has_Shape'] else 'absent'}; "
          f"shape-computation ops present: {inv['shape_subgraph'] or 'none'}")
        w(f"- op counts: " + ", ".join(f"{k} {v}" for k, v in inv["ops"].items()))
        w("")
        w("| op_type | attribute=value |")
        w("| --- | --- |")
        for op, p in inv["pairs"]:
            w(f"| {op} | {p.replace('|', '/')} |")
        if inv["scalar_const_inputs"]:
            w("")
            w("Constant scalar inputs: " + "; ".join(
                f"{op} {', '.join(v)}" for op, v in inv["scalar_const_inputs"].items()))
    with open(os.path.join(out, "README.md"), "w") as fh:
        fh.write("\n".join(L) + "\n")



# ---------------------------------------------------------------------------------------------


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join("Tests", "Fixtures", "onnx")
    os.makedirs(out, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    refs, notes, files, invs, ort_diffs, f64_diffs = {}, {}, [], [], {}, {}
    for name, ctor, in_shape, seed in MODELS:
        torch.manual_seed(seed)
        model = ctor()
        init_weights(model)
        randomise_norms(model, in_shape)
        example = torch.randn(in_shape, generator=torch.Generator().manual_seed(seed))
        notes[name] = export_all(name, model, example, out)
        tensors, meta, refs[name] = reference(name, model, in_shape)
        mine = [f"{name}{s}.onnx" for s in ("", "_legacy", "_opset18")
                if os.path.exists(os.path.join(out, f"{name}{s}.onnx"))]
        if name == "mlp":
            m = onnx.load(os.path.join(out, "mlp.onnx"))
            ext = os.path.join(out, "mlp_external.onnx")
            if os.path.exists(ext + ".data"):
                os.remove(ext + ".data")
            onnx.save_model(m, ext, save_as_external_data=True, all_tensors_to_one_file=True,
                            location="mlp_external.onnx.data", size_threshold=0)
            mine.append("mlp_external.onnx")
        for f in mine:
            path = os.path.join(out, f)
            invs.append(file_inventory(path))
            y = onnx_f64(path, refs[name])
            f64_diffs[f] = float(np.abs(y - refs[name]["decoded"]).max())
            if f != "mlp_external.onnx":        # the same graph as mlp.onnx
                tensors["onnx_f64." + f[:-len(".onnx")]] = torch.from_numpy(y[0].copy())
            try:
                dff = ort_check(path, refs[name])
                ort_diffs[f] = "onnxruntime not installed" if dff is None else dff
            except Exception as e:
                ort_diffs[f] = f"FAILED: {type(e).__name__}: {str(e).splitlines()[0]}"
        files += mine
        save_f64_safetensors(os.path.join(out, f"{name}_expected.safetensors"), tensors, meta)
    write_readme(out, invs, refs, notes, ort_diffs, f64_diffs)
    for f in sorted(os.listdir(out)):
        print(f"{os.path.getsize(os.path.join(out, f)):>9}  {f}")
    for name, n in notes.items():
        for k, v in n.items():
            print(f"{name} {k}: {v}")


if __name__ == "__main__":
    main()
