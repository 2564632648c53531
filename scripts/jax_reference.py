#!/usr/bin/env python3
"""JAX float64 reference and benchmark for georepl's geometry engine: discrete geodesics (GEORCE as
published, and exact Newton), sectional and scalar curvature of the pull-back metric J^T J of a
georepl model file's decoder g: R^d -> R^D.

    pip install jax jaxlib safetensors numpy
    python3 scripts/jax_reference.py MODEL.safetensors [--points 32] [--tol 1e-6] [--pairs 3]
            [--seed 1] [--a z1,z2,... --b z1,z2,...] [--measure georce,newton,sectional,scalar]
            [--georce-tol TOL] [--georce-literal] [--max-iter 1000] [--newton-max-iter 200]
            [--curv-points 64] [--repeats 5] [--threads N] [--input POINTS.json]
    python3 scripts/jax_reference.py --selftest            analytic checks (sphere, torus, S^3)
    python3 scripts/jax_reference.py --write-random-mlp OUT.safetensors [--arch 16,512,512,784]
            [--acts elu,elu,sigmoid] [--seed 1]            a random PyTorch-initialised MLP file

Everything runs in float64 (jax_enable_x64) under jax.jit; F32 weights are widened to F64.

Model files (SPEC "Model files"): the decoder layers of __metadata__["georepl.decoder"] with
PyTorch weight layouts. Supported: linear, relu, leaky_relu, elu, tanh, sigmoid, softplus (PyTorch's
threshold 20), silu, gelu (exact erf form), batchnorm on flat features, and reshape/flatten (identity:
the data is kept flat). conv2d and conv_transpose2d are rejected with an error naming the layer.
Weights may be F32 or F64 (F16/BF16 only if numpy can read them).

Measurements (one JSON object per line on stdout; notes on stderr), for each endpoint pair (random
standard-normal latent points from --seed, or --a/--b):
  georce   GEORCE (Rygaard & Hauberg 2025, arXiv 2505.05961) as in the authors' code
           (github.com/FrederikMR/georce, georce/georce_riemannian.py + georce/backtracking.py; see
           docs/georce.md): T = points - 1 controls u_t, metric G = J^T J, the authors' objective
           E_G = sum_t u_t^T G(z_t) u_t, closed-form control update through the multipliers mu,
           backtracking line search (alpha0 = 1, rho = 0.5 as in their runtime.py, c1 = 0.9, at most
           100 halvings) on the convex combination of old and new controls, stop when
           |grad E_G|_2 <= --georce-tol (default: --tol) or after --max-iter (default 1000, theirs);
           --georce-stop rho stops instead when georepl's rule applied to E_G, georce_rho below,
           is <= the tolerance (what georepl's georce does).
  newton   Newton on georepl's energy E = 1/(2 dt) sum_t |g(z_{t+1}) - g(z_t)|^2 (dt = 1/T) with
           the exact block-tridiagonal Hessian H_ii = 2T J_i^T J_i + sum_c (c_i)_c Hess g_c(z_i),
           H_i,i+1 = -T J_i^T J_{i+1} (dense Cholesky; Gauss-Newton with a tiny ridge when H is not
           positive definite), Armijo backtracking (c1 = 1e-4, at most 30 halvings; when the energy
           change is within 1e-8 E the slope at the trial decides, as GeodesicProblem.accepts),
           stop when rho = l sum_i |dE/dz_i| / (2E) <= --tol (l = latent length sum |z_{t+1}-z_t|)
           or after --newton-max-iter (default 200).
  sectional  K(u,v) = (<II(u,u),II(v,v)> - |II(u,v)|^2) / (|Ju|^2 |Jv|^2 - <Ju,Jv>^2),
           II(a,b) = (I - J J^+) D2g(z)[a,b], vmapped over --curv-points random z with random u, v.
  scalar   sum over ordered pairs i != j of an orthonormal frame of J^T J of K(e_i, e_j)
           = |sum_i II(e_i,e_i)|^2 - sum_ij |II(e_i,e_j)|^2, vmapped over --curv-points points.
Geodesic records: iterations, energy (georepl's E above, for both solvers), length
(sum |g(z_{t+1}) - g(z_t)|), rho (georepl's residual), converged; GEORCE also its own objective
E_G (georce_energy), |grad E_G|_2 (grad_norm, its stopping test), georce_rho (the residual formula
applied to E_G) and the total line-search halvings. GEORCE's fixed point minimises E_G, a different
discretisation from georepl's E (metric at the left point of each segment): its paths differ from
Newton's by O(1/T), so its georepl rho stays large (0.05-0.07 on a random MLP at T = 31), never
near --tol. cold_s is the first call (tracing and XLA compilation included for the first pair of
each solver only: "compiled_in_cold"), warm_median_s the median of --repeats further calls,
rate_per_s = 1 / warm (geodesics) or points / warm (curvature).

Threads: by default XLA uses all cores (its intra-op thread pool). --threads 1 sets
XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" and pins the process
to one CPU; --threads N > 1 only pins the process to N CPUs (sched_setaffinity).
"""
import argparse
import json
import math
import os
import statistics
import sys
import time


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", nargs="?", help="georepl model file (.safetensors)")
    p.add_argument("--points", type=int, default=32, help="points per path, endpoints included (T + 1); default 32")
    p.add_argument("--tol", type=float, default=1e-6, help="Newton's tolerance on rho; default 1e-6")
    p.add_argument("--georce-tol", type=float, default=None,
                   help="GEORCE's tolerance on |grad E_G|_2 (the authors' test); default: --tol")
    p.add_argument("--georce-stop", choices=("grad", "rho"), default="grad",
                   help="GEORCE's stopping test: grad (the authors': |grad E_G|_2 <= tol) or rho (georepl's rule "
                        "applied to E_G: l sum_t |grad_t E_G| / (2 E_G) <= tol, what georepl's georce uses)")
    p.add_argument("--georce-literal", action="store_true",
                   help="GEORCE with the authors' literal formulas (G = jacfwd^T jacfwd in the energy); same iterates, slower")
    p.add_argument("--max-iter", type=int, default=1000, help="GEORCE's iteration limit; default 1000 (the authors')")
    p.add_argument("--newton-max-iter", type=int, default=200, help="Newton's iteration limit; default 200")
    p.add_argument("--pairs", type=int, default=3, help="random endpoint pairs; default 3")
    p.add_argument("--seed", type=int, default=1, help="seed of endpoints, curvature points and random models")
    p.add_argument("--a", type=str, default=None, help="start point as a comma list (with --b)")
    p.add_argument("--b", type=str, default=None, help="end point as a comma list (with --a)")
    p.add_argument("--measure", type=str, default="georce,newton,sectional,scalar",
                   help="comma list of georce, newton, sectional, scalar; default all")
    p.add_argument("--curv-points", type=int, default=64, help="points per curvature batch; default 64")
    p.add_argument("--repeats", type=int, default=5, help="warm repeats (median reported); default 5")
    p.add_argument("--threads", type=int, default=0, help="0: XLA default (all cores); 1: one thread; N: pin to N CPUs")
    p.add_argument("--input", type=str, default=None,
                   help='JSON {"pairs": [[a, b], ...], "z": [...], "u": [...], "v": [...]}: the endpoint pairs and '
                        'the curvature points and planes to use (georepl-bench jax writes it); curvature records '
                        'then carry the per-point values')
    p.add_argument("--selftest", action="store_true", help="run the analytic checks and exit")
    p.add_argument("--write-random-mlp", metavar="OUT", default=None, help="write a random MLP model file and exit")
    p.add_argument("--arch", type=str, default="16,512,512,784", help="layer widths for --write-random-mlp")
    p.add_argument("--acts", type=str, default="elu,elu,sigmoid", help="activations after each linear layer")
    return p.parse_args(argv)


ARGS = parse_args()
if ARGS.threads == 1:
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()
if ARGS.threads >= 1 and hasattr(os, "sched_setaffinity"):
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, set(cpus[:ARGS.threads]))

import numpy as np  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jax import lax  # noqa: E402

jax.config.update("jax_enable_x64", True)
F64 = jnp.float64


def note(*a):
    print(*a, file=sys.stderr, flush=True)


def emit(record):
    print(json.dumps(record), flush=True)


# --------------------------------------------------------------------------------------------
# Model files
# --------------------------------------------------------------------------------------------

class ModelError(Exception):
    pass


def load_model(path):
    """Returns (g, params, latent_dim, data_dim, name): g(params, z[d]) -> x[D] in float64."""
    from safetensors import safe_open
    try:
        with safe_open(path, framework="numpy") as f:
            meta = f.metadata() or {}
            keys = set(f.keys())
            if "georepl.decoder" not in meta:
                raise ModelError(f"{path}: __metadata__ has no 'georepl.decoder'")
            layers = json.loads(meta["georepl.decoder"])
            d = int(meta.get("georepl.latent_dim", "0"))
            shape = json.loads(meta.get("georepl.data_shape", "[]"))
            tensors = {}

            def tensor(name, what):
                if name not in keys:
                    raise ModelError(f"layer {what}: tensor '{name}' is not in the file")
                if name not in tensors:
                    tensors[name] = np.asarray(f.get_tensor(name), dtype=np.float64)
                return tensors[name]

            ops, params = [], []
            width = d
            for i, L in enumerate(layers):
                op = L.get("op")
                what = f"{i} ({op})"
                if op == "linear":
                    W = tensor(L["weight"], what)
                    if W.ndim != 2 or W.shape[1] != width:
                        raise ModelError(f"layer {what}: weight {W.shape} does not take {width} inputs")
                    b = tensor(L["bias"], what) if L.get("bias") else np.zeros(W.shape[0])
                    if b.shape != (W.shape[0],):
                        raise ModelError(f"layer {what}: bias {b.shape} for {W.shape[0]} outputs")
                    ops.append(("linear", len(params)))
                    params.append((jnp.asarray(W, F64), jnp.asarray(b, F64)))
                    width = W.shape[0]
                elif op == "batchnorm":
                    mean, var = tensor(L["mean"], what), tensor(L["var"], what)
                    if mean.shape != (width,):
                        raise ModelError(f"layer {what}: batchnorm over {mean.shape} on {width} flat features "
                                         "(only batchnorm on flat features is supported)")
                    w = tensor(L["weight"], what) if L.get("weight") else np.ones(width)
                    bb = tensor(L["bias"], what) if L.get("bias") else np.zeros(width)
                    scale = w / np.sqrt(var + float(L.get("eps", 1e-5)))
                    ops.append(("affine", len(params)))
                    params.append((jnp.asarray(scale, F64), jnp.asarray(bb - mean * scale, F64)))
                elif op in ("reshape", "flatten"):
                    continue
                elif op in ("relu", "tanh", "sigmoid", "silu", "gelu"):
                    ops.append((op, None))
                elif op == "elu":
                    ops.append((op, float(L.get("alpha", 1.0))))
                elif op == "leaky_relu":
                    ops.append((op, float(L.get("slope", 0.01))))
                elif op == "softplus":
                    ops.append((op, float(L.get("beta", 1.0))))
                elif op in ("conv2d", "conv_transpose2d"):
                    raise ModelError(f"layer {what}: convolutions are not supported by this reference (MLP decoders only)")
                else:
                    raise ModelError(f"layer {what}: unknown op")
            if d <= 0:
                raise ModelError("georepl.latent_dim is missing or not positive")
            if shape and int(np.prod(shape)) != width:
                raise ModelError(f"the decoder gives {width} values, georepl.data_shape {shape} has {int(np.prod(shape))}")
    except ModelError:
        raise
    except Exception as e:  # malformed file
        raise ModelError(f"{path}: {e}") from e

    def g(params, z):
        x = z
        for kind, arg in ops:
            if kind == "linear":
                W, b = params[arg]
                x = W @ x + b
            elif kind == "affine":
                s, c = params[arg]
                x = s * x + c
            elif kind == "relu":
                x = jnp.maximum(x, 0.0)
            elif kind == "leaky_relu":
                x = jnp.where(x >= 0, x, arg * x)
            elif kind == "elu":
                x = jnp.where(x > 0, x, arg * jnp.expm1(jnp.minimum(x, 0.0)))
            elif kind == "tanh":
                x = jnp.tanh(x)
            elif kind == "sigmoid":
                x = jax.nn.sigmoid(x)
            elif kind == "silu":
                x = x * jax.nn.sigmoid(x)
            elif kind == "gelu":
                x = jax.nn.gelu(x, approximate=False)
            elif kind == "softplus":
                bx = arg * x
                x = jnp.where(bx > 20.0, x, jnp.log1p(jnp.exp(jnp.minimum(bx, 20.0))) / arg)
        return x.reshape(-1)

    return g, tuple(params), d, width, meta.get("georepl.name", os.path.basename(path))


def write_random_mlp(out, arch, acts, seed):
    """A PyTorch-initialised MLP (uniform(+-1/sqrt(fan_in)) weights and biases, F32) as a georepl file."""
    from safetensors.numpy import save_file
    rng = np.random.default_rng(seed)
    if len(acts) != len(arch) - 1:
        raise SystemExit(f"--acts has {len(acts)} entries for {len(arch) - 1} linear layers")
    tensors, layers = {}, []
    for i in range(len(arch) - 1):
        k = 1.0 / math.sqrt(arch[i])
        tensors[f"decoder.{2 * i}.weight"] = rng.uniform(-k, k, (arch[i + 1], arch[i])).astype(np.float32)
        tensors[f"decoder.{2 * i}.bias"] = rng.uniform(-k, k, (arch[i + 1],)).astype(np.float32)
        layers.append({"op": "linear", "weight": f"decoder.{2 * i}.weight", "bias": f"decoder.{2 * i}.bias"})
        a = acts[i]
        layers.append({"op": "elu", "alpha": 1} if a == "elu" else
                      {"op": "leaky_relu", "slope": 0.2} if a == "leaky_relu" else
                      {"op": "softplus", "beta": 1} if a == "softplus" else {"op": a})
    meta = {"georepl.format": "1", "georepl.latent_dim": str(arch[0]),
            "georepl.data_shape": json.dumps([arch[-1]]), "georepl.decoder": json.dumps(layers),
            "georepl.name": "random-mlp-" + "-".join(map(str, arch))}
    save_file(tensors, out, metadata=meta)
    note(f"wrote {out}: {'->'.join(map(str, arch))} {','.join(acts)}, seed {seed}")


# --------------------------------------------------------------------------------------------
# Path quantities (georepl's discrete energy)
# --------------------------------------------------------------------------------------------

def path_full(a, z, b):
    return jnp.concatenate([a[None], z, b[None]], axis=0)


def data_energy_length(g, params, Z):
    """georepl's E = T/2 sum |Delta_t|^2 and length sum |Delta_t| of the full path Z [T+1, d]."""
    X = jax.vmap(lambda z: g(params, z))(Z)
    D = X[1:] - X[:-1]
    s = jnp.sum(D * D, axis=1)
    T = D.shape[0]
    return 0.5 * T * jnp.sum(s), jnp.sum(jnp.sqrt(s))


def residual(grad, Z, E):
    """rho = l sum_i |dE/dz_i| / (2E), l = the latent length of the full path Z."""
    l = jnp.sum(jnp.linalg.norm(Z[1:] - Z[:-1], axis=1))
    return jnp.where(E > 0, l * jnp.sum(jnp.linalg.norm(grad, axis=1)) / (2.0 * E), 0.0)


# --------------------------------------------------------------------------------------------
# GEORCE (Rygaard & Hauberg 2025) as in the authors' code; see docs/georce.md
# --------------------------------------------------------------------------------------------

GEORCE_LS = dict(alpha=1.0, rho=0.5, c1=0.9, max_iter=100)   # Backtracking(criterion="armijo"), rho from runtime.py


def make_georce(g, T, literal=False, stop_rho=False):
    """Returns georce(params, a, b, tol, max_iter) -> (Z [T+1, d], iterations, grad_norm, E_G,
    total line-search halvings).

    literal=False evaluates the authors' quantities with cheaper but mathematically identical
    formulas: E_G = sum_t |J(z_t) u_t|^2 by one JVP per segment (instead of G = J^T J by jacfwd),
    nu_t = grad_z |J(z) u_t|^2 by reverse-over-forward, dE_G/dz by jax.grad of that. literal=True
    copies the authors' formulas (G(z) = jacfwd(g)^T jacfwd(g), einsum energies, grad through them);
    the self-test checks that both give the same iterates."""

    def J(params, z):
        return jax.jacfwd(lambda zz: g(params, zz))(z)

    def G(params, z):
        Jz = J(params, z)
        return Jz.T @ Jz

    def jvp_sq(params, z, u):
        return jnp.sum(jax.jvp(lambda zz: g(params, zz), (z,), (u,))[1] ** 2)

    def energy(params, a, b, zt):
        """E_G(z) = sum_{t=0}^{T-1} u_t^T G(z_t) u_t, u_t = z_{t+1} - z_t, z_0 = a, z_T = b."""
        if literal:
            G0 = G(params, a)
            term1 = zt[0] - a
            val1 = jnp.einsum('i,ij,j->', term1, G0, term1)
            term2 = zt[1:] - zt[:-1]
            Gt = jax.vmap(lambda z: G(params, z))(zt)
            val2 = jnp.einsum('ti,tij,tj->t', term2, Gt[:-1], term2)
            term3 = b - zt[-1]
            val3 = jnp.einsum('i,ij,j->', term3, Gt[-1], term3)
            return val1 + jnp.sum(val2) + val3
        Z = path_full(a, zt, b)
        return jnp.sum(jax.vmap(lambda z, u: jvp_sq(params, z, u))(Z[:-1], Z[1:] - Z[:-1]))

    def Denergy(params, a, b, zt):
        return jax.grad(lambda z: energy(params, a, b, z))(zt)

    def gt(params, zt, ut):
        """nu_t = d/dz [u_t^T G(z) u_t] at z_t, t = 1 .. T-1 (ut = controls u_1 .. u_{T-1})."""
        if literal:
            def inner_product(zt, ut):
                Gt = jax.vmap(lambda z: G(params, z))(zt)
                return jnp.sum(jnp.einsum('ti,tij,tj->t', ut, Gt, ut))
            return jax.grad(inner_product)(zt, ut)
        return jax.vmap(jax.grad(lambda z, u: jvp_sq(params, z, u)))(zt, ut)

    def unconstrained_opt(gt_, gt_inv, diff):
        """The multipliers mu_0 .. mu_{T-1} (docs/georce.md, (G5)-(G6))."""
        g_cumsum = jnp.cumsum(gt_[::-1], axis=0)[::-1]
        ginv_sum = jnp.sum(gt_inv, axis=0)
        rhs = jnp.sum(jnp.einsum('tij,tj->ti', gt_inv[:-1], g_cumsum), axis=0) + 2.0 * diff
        muT = -jnp.linalg.solve(ginv_sum, rhs)
        return jnp.vstack((muT + g_cumsum, muT))

    def run(params, a, b, tol, max_iter):
        d = a.shape[0]
        diff = b - a
        zt = diff * jnp.linspace(0.0, 1.0, T, endpoint=False, dtype=F64)[1:].reshape(-1, 1) + a
        ut = jnp.ones((T, d), dtype=F64) * diff / T
        Ginv0 = jnp.linalg.inv(G(params, a)).reshape(1, d, d)
        E = lambda z: energy(params, a, b, z)

        def Ginv_all(zt):
            return jnp.vstack((Ginv0, jax.vmap(lambda z: jnp.linalg.inv(G(params, z)))(zt)))

        def update_xt(alpha, ut_hat, ut):
            return a + jnp.cumsum(alpha * ut_hat[:-1] + (1 - alpha) * ut[:-1], axis=0)

        def line_search(zt, grad, ut_hat, ut):
            # Backtracking.__call__ with criterion "armijo": obj0 = E(x), pk = -grad E(x); shrink
            # alpha by rho while E(x_new) > obj0 + c1 alpha <pk, grad> and idx < max_iter.
            obj0 = E(zt)
            g0 = grad.reshape(-1)
            slope = jnp.dot(-g0, g0)

            def cond(c):
                alpha, idx = c
                obj = E(update_xt(alpha, ut_hat, ut))
                return (obj > obj0 + GEORCE_LS["c1"] * alpha * slope) & (idx < GEORCE_LS["max_iter"])

            return lax.while_loop(cond, lambda c: (GEORCE_LS["rho"] * c[0], c[1] + 1),
                                  (jnp.asarray(GEORCE_LS["alpha"], F64), 0))

        def cond_fun(c):
            zt, ut, gt_, gt_inv, grad, idx, nls = c
            if stop_rho:
                # georepl's stopping rule applied to GEORCE's own objective (georce_rho below).
                going = residual(grad, path_full(a, zt, b), E(zt)) > tol
            else:
                going = jnp.linalg.norm(grad.reshape(-1)) > tol
            return going & (idx < max_iter)

        def while_step(c):
            zt, ut, gt_, gt_inv, grad, idx, nls = c
            mut = unconstrained_opt(gt_, gt_inv, diff)
            ut_hat = -0.5 * jnp.einsum('tij,tj->ti', gt_inv, mut)
            tau, halvings = line_search(zt, grad, ut_hat, ut)
            ut = tau * ut_hat + (1. - tau) * ut
            zt = a + jnp.cumsum(ut[:-1], axis=0)
            gt_ = gt(params, zt, ut[1:])
            gt_inv = Ginv_all(zt)
            grad = Denergy(params, a, b, zt)
            return (zt, ut, gt_, gt_inv, grad, idx + 1, nls + halvings)

        init = (zt, ut, gt(params, zt, ut[1:]), Ginv_all(zt), Denergy(params, a, b, zt), 0, 0)
        zt, ut, _, _, grad, idx, nls = lax.while_loop(cond_fun, while_step, init)
        return path_full(a, zt, b), idx, jnp.linalg.norm(grad.reshape(-1)), E(zt), nls

    run.energy = energy
    return run


# --------------------------------------------------------------------------------------------
# Newton on georepl's energy with the exact Hessian
# --------------------------------------------------------------------------------------------

NEWTON_LS = dict(c1=1e-4, halvings=30, roundoff=1e-8, ridge=1e-12)
STOPS = {0: "running", 1: "converged", 2: "max_iterations", 3: "line_search", 4: "no_descent"}


def make_newton(g, T):
    """Returns newton(params, a, b, tol, max_iter) -> (Z, iterations, rho, E, stop_code) and the
    helpers (energy over the interior, its gradient, the structured Hessian) for the self-test."""

    def E_int(params, xa, xb, z):
        X = jax.vmap(lambda zz: g(params, zz))(z)
        Xf = jnp.concatenate([xa[None], X, xb[None]], axis=0)
        D = Xf[1:] - Xf[:-1]
        return 0.5 * T * jnp.sum(D * D)

    def state(params, xa, xb, z):
        """E, dE/dz [n, d] and the exact Hessian (dense [n d, n d]) and its Gauss-Newton part."""
        n, d = z.shape
        X = jax.vmap(lambda zz: g(params, zz))(z)
        Jz = jax.vmap(lambda zz: jax.jacfwd(lambda q: g(params, q))(zz))(z)        # [n, D, d]
        Xf = jnp.concatenate([xa[None], X, xb[None]], axis=0)
        D = Xf[1:] - Xf[:-1]                                                       # [T, D]
        E = 0.5 * T * jnp.sum(D * D)
        c = T * (D[:-1] - D[1:])                                                   # c_i = dE/dg(z_i)
        grad = jnp.einsum('nDd,nD->nd', Jz, c)
        C = jax.vmap(lambda zz, cc: jax.hessian(lambda q: jnp.dot(cc, g(params, q)))(zz))(z, c)
        JJ = jnp.einsum('nDa,nDb->nab', Jz, Jz)
        off = -T * jnp.einsum('nDa,nDb->nab', Jz[:-1], Jz[1:])                    # H_{i,i+1}
        idx = jnp.arange(n)
        GN = jnp.zeros((n, d, n, d), F64)
        GN = GN.at[idx, :, idx, :].set(2.0 * T * JJ)
        GN = GN.at[idx[:-1], :, idx[1:], :].set(off)
        GN = GN.at[idx[1:], :, idx[:-1], :].set(jnp.swapaxes(off, 1, 2))
        Cfull = jnp.zeros((n, d, n, d), F64).at[idx, :, idx, :].set(C)
        return E, grad, (GN + Cfull).reshape(n * d, n * d), GN.reshape(n * d, n * d), JJ

    def direction(H, GN, JJ, grad):
        n, d = grad.shape
        gv = grad.reshape(-1)
        L = jnp.linalg.cholesky(H)
        ok = jnp.all(jnp.isfinite(L))

        def newton(_):
            return jax.scipy.linalg.cho_solve((L, True), -gv)

        def gauss_newton(_):
            tr = jnp.trace(JJ, axis1=1, axis2=2) / d
            tr = jnp.where(tr > 0, tr, jnp.mean(tr))
            ridge = 2.0 * T * NEWTON_LS["ridge"] * jnp.repeat(tr, d)
            L2 = jnp.linalg.cholesky(GN + jnp.diag(ridge))
            return jax.scipy.linalg.cho_solve((L2, True), -gv)

        return lax.cond(ok, newton, gauss_newton, None).reshape(n, d), ok

    def run(params, a, b, tol, max_iter):
        xa, xb = g(params, a), g(params, b)
        s = jnp.linspace(0.0, 1.0, T + 1, dtype=F64)[1:-1, None]
        z = a + s * (b - a)
        E = lambda zz: E_int(params, xa, xb, zz)
        dE = jax.grad(E)

        def body(c):
            z, it, stop, rho, e, nfall = c
            e, grad, H, GN, JJ = state(params, xa, xb, z)
            rho = residual(grad, path_full(a, z, b), e)
            stop = jnp.where(rho <= tol, 1, jnp.where(it >= max_iter, 2, 0))

            def step(_):
                dz, ok = direction(H, GN, JJ, grad)
                slope = jnp.sum(grad * dz)

                def ls_cond(lc):
                    alpha, k, acc = lc
                    return (~acc) & (k <= NEWTON_LS["halvings"])

                def ls_body(lc):
                    alpha, k, acc = lc
                    trial = z + alpha * dz
                    e1 = E(trial)
                    near = jnp.abs(e1 - e) <= NEWTON_LS["roundoff"] * jnp.abs(e)
                    s1 = lax.cond(near, lambda _: jnp.sum(dE(trial) * dz), lambda _: jnp.asarray(0.0, F64), None)
                    good = jnp.where(near, s1 <= (1 - 2 * NEWTON_LS["c1"]) * jnp.abs(slope),
                                     e1 <= e + NEWTON_LS["c1"] * alpha * slope)
                    good = good & jnp.isfinite(e1)
                    return (jnp.where(good, alpha, 0.5 * alpha), k + 1, good)

                alpha, _, acc = lax.while_loop(ls_cond, ls_body, (jnp.asarray(1.0, F64), 0, False))
                descent = (slope < 0) & jnp.isfinite(slope)
                acc = acc & descent
                znew = jnp.where(acc, z + alpha * dz, z)
                st = jnp.where(descent, jnp.where(acc, 0, 3), 4)
                return znew, st, jnp.where(ok, 0, 1)

            znew, st, fell = lax.cond(stop == 0, step, lambda _: (z, stop, 0), None)
            it = jnp.where(stop == 0, it + jnp.where(st == 0, 1, 0), it)
            return (znew, it, st, rho, e, nfall + fell)

        c0 = (z, 0, 0, jnp.asarray(jnp.inf, F64), jnp.asarray(0.0, F64), 0)
        z, it, stop, rho, e, nfall = lax.while_loop(lambda c: c[2] == 0, body, c0)
        return path_full(a, z, b), it, rho, e, stop, nfall

    return run, E_int, state


# --------------------------------------------------------------------------------------------
# Curvature by the Gauss equation
# --------------------------------------------------------------------------------------------

def make_curvature(g):
    def parts(params, z):
        Jz = jax.jacfwd(lambda q: g(params, q))(z)                 # [D, d]
        Q, _ = jnp.linalg.qr(Jz, mode="reduced")
        return Jz, Q

    def sectional(params, z, u, v):
        Jz, Q = parts(params, z)
        f = lambda q: g(params, q)

        def d2(x, y):
            return jax.jvp(lambda q: jax.jvp(f, (q,), (x,))[1], (z,), (y,))[1]

        normal = lambda w: w - Q @ (Q.T @ w)
        Iuu, Ivv, Iuv = normal(d2(u, u)), normal(d2(v, v)), normal(d2(u, v))
        Ju, Jv = Jz @ u, Jz @ v
        den = jnp.dot(Ju, Ju) * jnp.dot(Jv, Jv) - jnp.dot(Ju, Jv) ** 2
        return (jnp.dot(Iuu, Ivv) - jnp.dot(Iuv, Iuv)) / den

    def scalar(params, z):
        Jz, Q = parts(params, z)
        Hs = jax.jacfwd(jax.jacfwd(lambda q: g(params, q)))(z)     # [D, d, d] = D2g(z)[e_a, e_b]
        N = Hs - jnp.einsum('Dk,Ek,Eab->Dab', Q, Q, Hs)             # normal part
        L = jnp.linalg.cholesky(Jz.T @ Jz)
        Eb = jax.scipy.linalg.solve_triangular(L, jnp.eye(Jz.shape[1], dtype=F64), lower=True).T  # E^T M E = I
        B = jnp.einsum('Dab,ai,bj->ijD', N, Eb, Eb)                 # II(e_i, e_j)
        tr = jnp.einsum('iiD->D', B)
        return jnp.dot(tr, tr) - jnp.sum(B * B)

    return (jax.jit(jax.vmap(sectional, in_axes=(None, 0, 0, 0))),
            jax.jit(jax.vmap(scalar, in_axes=(None, 0))))


# --------------------------------------------------------------------------------------------
# Timing and measurements
# --------------------------------------------------------------------------------------------

def timed(fn, args, repeats):
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    cold = time.perf_counter() - t0
    warm = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        warm.append(time.perf_counter() - t0)
    return out, cold, (statistics.median(warm) if warm else float("nan"))


def parse_vec(s, d, what):
    v = np.array([float(x) for x in s.split(",") if x.strip()], dtype=np.float64)
    if v.shape != (d,):
        raise SystemExit(f"--{what} has {v.size} entries, latent_dim is {d}")
    return v


def run_benchmarks(args):
    g, params, d, D, name = load_model(args.model)
    T = args.points - 1
    if T < 2:
        raise SystemExit("--points must be at least 3")
    measures = [m.strip() for m in args.measure.split(",") if m.strip()]
    for m in measures:
        if m not in ("georce", "newton", "sectional", "scalar"):
            raise SystemExit(f"unknown measurement '{m}'")
    gtol = args.tol if args.georce_tol is None else args.georce_tol
    rng = np.random.default_rng(args.seed)
    if (args.a is None) != (args.b is None):
        raise SystemExit("--a and --b go together")
    given = None
    if args.input is not None:
        with open(args.input) as f:
            given = json.load(f)
        pairs = [(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)) for a, b in given.get("pairs", [])]
        for a, b in pairs:
            if a.shape != (d,) or b.shape != (d,):
                raise SystemExit(f"--input: an endpoint pair does not have latent_dim {d} entries")
    elif args.a is not None:
        pairs = [(parse_vec(args.a, d, "a"), parse_vec(args.b, d, "b"))]
    else:
        pairs = [(rng.standard_normal(d), rng.standard_normal(d)) for _ in range(args.pairs)]
    note(f"model {name}: latent {d}, data {D}; {args.points} points (T = {T}); jax {jax.__version__}, "
         f"{jax.devices()[0].platform}, threads={'default' if args.threads == 0 else args.threads}")
    common = {"model": name, "latent_dim": d, "data_dim": D, "threads": args.threads or "default"}

    if "georce" in measures:
        georce = make_georce(g, T, literal=args.georce_literal, stop_rho=args.georce_stop == "rho")
        fn = jax.jit(georce, static_argnums=(4,))
        efn = jax.jit(lambda p, Z: data_energy_length(g, p, Z))
        gfn = jax.jit(lambda p, a, b, z: jax.grad(lambda q: georce.energy(p, a, b, q))(z))
        _, E_int, state = make_newton(g, T)
        for k, (a, b) in enumerate(pairs):
            a_, b_ = jnp.asarray(a), jnp.asarray(b)
            (Z, it, gn, eg, nls), cold, warm = timed(fn, (params, a_, b_, gtol, args.max_iter), args.repeats)
            E, L = efn(params, Z)
            xa, xb = g(params, a_), g(params, b_)
            _, grad, _, _, _ = jax.jit(state)(params, xa, xb, Z[1:-1])
            rho = residual(grad, Z, E)
            rho_g = residual(gfn(params, a_, b_, Z[1:-1]), Z, eg)
            emit(dict(name="georce", pair=k, cold_s=cold, warm_median_s=warm, repeats=args.repeats,
                      compiled_in_cold=(k == 0), iterations=int(it), georce_stop=args.georce_stop,
                      converged=bool(rho_g <= gtol if args.georce_stop == "rho" else gn <= gtol),
                      line_search_halvings=int(nls), literal=args.georce_literal, georce_tol=gtol, max_iter=args.max_iter, grad_norm=float(gn), georce_energy=float(eg), georce_rho=float(rho_g),
                      energy=float(E), length=float(L), rho=float(rho), points=args.points,
                      rate_per_s=1.0 / warm, **common))

    if "newton" in measures:
        run, _, _ = make_newton(g, T)
        fn = jax.jit(run)
        efn = jax.jit(lambda p, Z: data_energy_length(g, p, Z))
        for k, (a, b) in enumerate(pairs):
            a_, b_ = jnp.asarray(a), jnp.asarray(b)
            (Z, it, rho, e, stop, nfall), cold, warm = timed(
                fn, (params, a_, b_, args.tol, args.newton_max_iter), args.repeats)
            E, L = efn(params, Z)
            emit(dict(name="newton", pair=k, cold_s=cold, warm_median_s=warm, repeats=args.repeats,
                      compiled_in_cold=(k == 0), iterations=int(it), converged=int(stop) == 1,
                      stop=STOPS[int(stop)], tol=args.tol, rho=float(rho), energy=float(E), length=float(L),
                      gauss_newton_steps=int(nfall), points=args.points, rate_per_s=1.0 / warm, **common))

    if "sectional" in measures or "scalar" in measures:
        sec, sca = make_curvature(g)
        n = args.curv_points
        if given is not None and "z" in given:
            zs, us, vs = (jnp.asarray(np.asarray(given[k], dtype=np.float64)) for k in ("z", "u", "v"))
            if zs.ndim != 2 or zs.shape[1] != d or us.shape != zs.shape or vs.shape != zs.shape:
                raise SystemExit(f"--input: z, u, v must be n x {d}")
            n = zs.shape[0]
        else:
            zs = jnp.asarray(rng.standard_normal((n, d)))
            us = jnp.asarray(rng.standard_normal((n, d)))
            vs = jnp.asarray(rng.standard_normal((n, d)))
        extra = lambda x: dict(values=[float(t) for t in x]) if given is not None else {}
        if "sectional" in measures:
            K, cold, warm = timed(sec, (params, zs, us, vs), args.repeats)
            K = np.asarray(K)
            emit(dict(name="sectional", points=n, cold_s=cold, warm_median_s=warm, repeats=args.repeats,
                      mean=float(K.mean()), min=float(K.min()), max=float(K.max()),
                      median=float(np.median(K)), rate_per_s=n / warm, **extra(K), **common))
        if "scalar" in measures:
            S, cold, warm = timed(sca, (params, zs), args.repeats)
            S = np.asarray(S)
            emit(dict(name="scalar", points=n, cold_s=cold, warm_median_s=warm, repeats=args.repeats,
                      mean=float(S.mean()), min=float(S.min()), max=float(S.max()),
                      median=float(np.median(S)), rate_per_s=n / warm, **extra(S), **common))


# --------------------------------------------------------------------------------------------
# Self-test on analytic immersions
# --------------------------------------------------------------------------------------------

def sphere(r=1.0):
    def g(params, z):
        t, p = z[0], z[1]
        return r * jnp.stack([jnp.sin(t) * jnp.cos(p), jnp.sin(t) * jnp.sin(p), jnp.cos(t)])
    return g


def torus(R=2.0, r=1.0):
    def g(params, z):
        t, p = z[0], z[1]
        return jnp.stack([(R + r * jnp.cos(t)) * jnp.cos(p), (R + r * jnp.cos(t)) * jnp.sin(p), r * jnp.sin(t)])
    return g


def sphere3(params, z):
    """S^3 in R^4 by hyperspherical coordinates (z0, z1 in (0, pi), z2 the azimuth)."""
    a, b, c = z[0], z[1], z[2]
    return jnp.stack([jnp.cos(a), jnp.sin(a) * jnp.cos(b), jnp.sin(a) * jnp.sin(b) * jnp.cos(c),
                      jnp.sin(a) * jnp.sin(b) * jnp.sin(c)])


def selftest(args):
    failures = []

    def check(name, ok, detail):
        note(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
        emit(dict(name="selftest", check=name, ok=bool(ok), detail=detail))
        if not ok:
            failures.append(name)

    rng = np.random.default_rng(args.seed)
    n = 64
    # Curvature on surfaces with known K.
    for label, g, K_of, dim in [
        ("sphere r=1", sphere(1.0), lambda z: np.ones(len(z)), 2),
        ("sphere r=2", sphere(2.0), lambda z: np.full(len(z), 0.25), 2),
        ("torus R=2 r=1", torus(2.0, 1.0), lambda z: np.cos(z[:, 0]) / (1.0 * (2.0 + np.cos(z[:, 0]))), 2),
        ("S^3", sphere3, lambda z: np.ones(len(z)), 3),
    ]:
        zs = rng.uniform(0.3, math.pi - 0.3, (n, dim))
        if label.startswith("torus"):
            zs[:, 0] = rng.uniform(-math.pi, math.pi, n)
        us, vs = rng.standard_normal((n, dim)), rng.standard_normal((n, dim))
        sec, sca = make_curvature(g)
        K = np.asarray(sec((), jnp.asarray(zs), jnp.asarray(us), jnp.asarray(vs)))
        S = np.asarray(sca((), jnp.asarray(zs)))
        Kt = K_of(zs)
        eK = float(np.max(np.abs(K - Kt)))
        eS = float(np.max(np.abs(S - dim * (dim - 1) * Kt)))
        check(f"sectional {label}", eK < 1e-9, f"max |K - K_true| = {eK:.2e} over {n} points")
        check(f"scalar {label}", eS < 1e-9, f"max |S - d(d-1)K| = {eS:.2e} (S = {float(np.mean(S)):.6g} mean)")

    # Geodesics on the unit sphere: a great-circle arc.
    g = sphere(1.0)
    T = args.points - 1
    a, b = jnp.asarray([1.0, 0.3]), jnp.asarray([2.0, 2.2])
    xa, xb = np.asarray(g((), a)), np.asarray(g((), b))
    theta = math.acos(float(np.dot(xa, xb)))
    nrm = np.cross(xa, xb)
    nrm /= np.linalg.norm(nrm)
    chord = T * 2.0 * math.sin(theta / (2 * T))      # exact discrete minimiser: equal chords

    run, E_int, state = make_newton(g, T)
    Z, it, rho, e, stop, nfall = jax.jit(run)((), a, b, args.tol, args.newton_max_iter)
    E, L = data_energy_length(g, (), Z)
    off = float(np.max(np.abs(np.asarray(jax.vmap(lambda z: g((), z))(Z)) @ nrm)))
    check("newton sphere", int(stop) == 1 and abs(float(L) - chord) < 1e-9 and off < 1e-9,
          f"{int(it)} iterations, rho {float(rho):.2e}, length {float(L):.12f} vs equal chords {chord:.12f} "
          f"(great circle {theta:.12f}), off-plane {off:.1e}")

    georce = make_georce(g, T)
    gtol = args.tol if args.georce_tol is None else args.georce_tol
    Zg, itg, gn, eg, nlsg = jax.jit(georce, static_argnums=(4,))((), a, b, gtol, args.max_iter)
    Eg, Lg = data_energy_length(g, (), Zg)
    offg = float(np.max(np.abs(np.asarray(jax.vmap(lambda z: g((), z))(Zg)) @ nrm)))
    # GEORCE minimises its own discretisation (metric at the left point of each segment), whose
    # minimiser leaves the great circle by O(1/T) (~0.13/T here) and has length error O(1/T^2).
    check("georce sphere", float(gn) <= gtol and abs(float(Lg) - theta) < 2.0 / T ** 2 * theta and offg < 0.5 / T,
          f"{int(itg)} iterations ({int(nlsg)} line-search halvings), |grad E_G| {float(gn):.2e}, length {float(Lg):.10f} vs great circle "
          f"{theta:.10f} (rel {abs(float(Lg) - theta) / theta:.1e}), off-plane {offg:.1e}, "
          f"georepl energy {float(Eg):.10f} vs Newton's {float(E):.10f}")

    # GEORCE's cheap formulas reproduce the authors' literal ones iterate by iterate.
    lit = make_georce(g, T, literal=True)
    Zl, itl, gnl, egl, _ = jax.jit(lit, static_argnums=(4,))((), a, b, gtol, args.max_iter)
    dz = float(jnp.max(jnp.abs(Zl - Zg)))
    check("georce literal == fast (sphere)", int(itl) == int(itg) and dz < 1e-10,
          f"iterations {int(itl)} vs {int(itg)}, max |dz| {dz:.1e}")

    # A small random MLP: structured Hessian == jax.hessian, literal GEORCE == fast GEORCE.
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "tiny.safetensors")
        write_random_mlp(path, [3, 12, 10, 7], ["tanh", "softplus", "sigmoid"], args.seed)
        gm, pm, d, _, _ = load_model(path)
    Tm = 8
    am, bm = jnp.asarray(rng.standard_normal(d)), jnp.asarray(rng.standard_normal(d))
    _, E_m, state_m = make_newton(gm, Tm)
    zm = am + jnp.linspace(0, 1, Tm + 1)[1:-1, None] * (bm - am) + 0.1 * jnp.asarray(rng.standard_normal((Tm - 1, d)))
    xa, xb = gm(pm, am), gm(pm, bm)
    _, grad, H, _, _ = state_m(pm, xa, xb, zm)
    Hx = jax.hessian(lambda z: E_m(pm, xa, xb, z))(zm).reshape(H.shape)
    gx = jax.grad(lambda z: E_m(pm, xa, xb, z))(zm)
    eH = float(jnp.max(jnp.abs(H - Hx)) / jnp.max(jnp.abs(Hx)))
    eg_ = float(jnp.max(jnp.abs(grad - gx)) / jnp.max(jnp.abs(gx)))
    check("newton hessian == jax.hessian (MLP)", eH < 1e-12 and eg_ < 1e-12, f"rel err H {eH:.1e}, grad {eg_:.1e}")
    f1 = jax.jit(make_georce(gm, Tm), static_argnums=(4,))
    f2 = jax.jit(make_georce(gm, Tm, literal=True), static_argnums=(4,))
    r1, r2 = f1(pm, am, bm, 1e-10, 200), f2(pm, am, bm, 1e-10, 200)
    dz = float(jnp.max(jnp.abs(r1[0] - r2[0])))
    check("georce literal == fast (MLP)", int(r1[1]) == int(r2[1]) and dz < 1e-9,
          f"iterations {int(r1[1])} vs {int(r2[1])}, max |dz| {dz:.1e}, |grad| {float(r1[2]):.1e}")
    # Newton on the MLP converges.
    Zn, itn, rhon, _, stopn, _ = jax.jit(make_newton(gm, Tm)[0])(pm, am, bm, 1e-10, 100)
    check("newton MLP", int(stopn) == 1, f"{int(itn)} iterations, rho {float(rhon):.1e}, stop {STOPS[int(stopn)]}")

    note("selftest: " + ("all passed" if not failures else f"{len(failures)} failed: {', '.join(failures)}"))
    return 0 if not failures else 1


def main():
    args = ARGS
    if args.write_random_mlp:
        write_random_mlp(args.write_random_mlp, [int(x) for x in args.arch.split(",")],
                         [x.strip() for x in args.acts.split(",")], args.seed)
        return 0
    if args.selftest:
        return selftest(args)
    if not args.model:
        raise SystemExit("a model file is required (or --selftest / --write-random-mlp)")
    try:
        run_benchmarks(args)
    except ModelError as e:
        raise SystemExit(f"error: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
