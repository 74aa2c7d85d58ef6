"""``fastact compare``: train the same small MLP once per activation and report what happened.

The network is NumPy: dense layers, the activation's forward and fused backward kernels from
fastact for every hidden layer, softmax cross-entropy (fastact's log_softmax and its
backward), Adam. Learnable activation parameters (declared ``Param(..., learnable=True)``
with a parameter derivative: PReLU's slope, the parametric sigmoid/tanh, a plugin's) get one
value per unit, trained with ``param_grad``. Everything is seeded: the same seed gives the same numbers.

Datasets: scikit-learn's bundled ``load_digits`` (8x8 digits, 10 classes; no download) and a
generated two-spirals set. Reported per activation: test accuracy, macro precision, recall
and F1, final train and test loss, the first epoch reaching the target accuracy, time per
epoch, the fraction of dead hidden units per layer (f'(z) = 0 on every training sample, so
no gradient ever reaches them), and the gradient norm of each layer's weights at
initialisation in a 10-layer variant, to show vanishing gradients.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import get
from .plot import panels
from .textfmt import table

DEFAULT = ["relu", "leaky_relu", "elu", "gelu", "silu", "mish", "tanh", "sigmoid", "prelu"]
TARGET_ACCURACY = {"digits": 0.95, "spirals": 0.90}


# ---- data ------------------------------------------------------------------------------------


def spirals(n: int = 1000, noise: float = 0.2, seed: int = 0):
    """Two interleaved spirals (2 features, 2 classes)."""
    rng = np.random.default_rng(seed)
    half = n // 2
    t = np.sqrt(rng.uniform(0, 1, half)) * 3 * np.pi
    a = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (3 * np.pi)
    x = np.concatenate([a, -a]) + rng.normal(0, noise / (3 * np.pi) * 3, (2 * half, 2))
    y = np.concatenate([np.zeros(half, int), np.ones(half, int)])
    return x.astype(np.float32) * 3, y


def load(dataset: str, seed: int):
    """(x_train, y_train, x_test, y_test, classes), standardized, a stratified 75/25 split."""
    if dataset == "digits":
        try:
            from sklearn.datasets import load_digits
        except ImportError:
            raise ImportError("the digits dataset needs scikit-learn: pip install scikit-learn") from None
        d = load_digits()
        x, y = d.data.astype(np.float32), d.target.astype(int)
    elif dataset == "spirals":
        x, y = spirals(seed=seed)
    else:
        raise ValueError(f"unknown dataset {dataset!r}; choose digits or spirals")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        cut = int(round(0.75 * idx.size))
        train += list(idx[:cut])
        test += list(idx[cut:])
    train, test = np.array(train), np.array(test)
    mu, sd = x[train].mean(axis=0), x[train].std(axis=0) + 1e-6
    x = ((x - mu) / sd).astype(np.float32)
    return x[train], y[train], x[test], y[test], int(y.max()) + 1


# ---- the network --------------------------------------------------------------------------------


def _learnable(spec) -> list:
    """The parameters trained per unit: those declared ``Param(..., learnable=True)`` that have
    a parameter derivative (a learnable one without it cannot be trained, and check-plugin
    reports it)."""
    return [p for p in spec.params if p.learnable and p.name in spec.param_derivatives]


@dataclass
class MLP:
    act: Any
    sizes: list[int]
    seed: int
    weights: list[np.ndarray] = field(default_factory=list)
    biases: list[np.ndarray] = field(default_factory=list)
    params: list[dict[str, np.ndarray]] = field(default_factory=list)  # per hidden layer

    def __post_init__(self):
        rng = np.random.default_rng(self.seed)
        learn = _learnable(self.act.spec)
        for i, (fan_in, fan_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            # He initialisation for every activation: the same network for all of them
            self.weights.append(
                (rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(np.float32)
            )
            self.biases.append(np.zeros(fan_out, np.float32))
            if i < len(self.sizes) - 2:
                self.params.append({p.name: np.full(fan_out, p.default, np.float32) for p in learn})

    def forward(self, x):
        """(logits, cache of pre-activations and inputs per layer)."""
        cache = []
        a = x
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = a @ w + b
            cache.append((a, z))
            a = z if i == len(self.weights) - 1 else self.act(z, **self.params[i])
        return a, cache

    def backward(self, cache, dlogits):
        """Gradients (dW, db, dparams) of every layer."""
        grads = []
        d = dlogits
        for i in reversed(range(len(self.weights))):
            a, z = cache[i]
            if i < len(self.weights) - 1:
                dparams = self.act.param_grad(z, d, **self.params[i]) if self.params[i] else {}
                dparams = {k: v for k, v in dparams.items() if k in self.params[i]}
                d = self.act.backward(z, d, **self.params[i])
            else:
                dparams = {}
            grads.append((a.T @ d, d.sum(axis=0), dparams))
            d = d @ self.weights[i].T
        return grads[::-1]


def loss_and_grad(logits, y):
    """Mean softmax cross-entropy and its gradient, with fastact's log_softmax."""
    logp = get("log_softmax")(logits, axis=1)
    n = y.size
    loss = -float(logp[np.arange(n), y].mean())
    g = np.zeros_like(logp)
    g[np.arange(n), y] = -1.0 / n
    return loss, get("log_softmax").backward(logits, g, axis=1)


class Adam:
    def __init__(self, lr=3e-3, b1=0.9, b2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps, self.t, self.state = lr, b1, b2, eps, 0, {}

    def step(self, key, value, grad):
        m, v = self.state.get(key, (np.zeros_like(value), np.zeros_like(value)))
        m = self.b1 * m + (1 - self.b1) * grad
        v = self.b2 * v + (1 - self.b2) * grad * grad
        self.state[key] = (m, v)
        mh, vh = m / (1 - self.b1**self.t), v / (1 - self.b2**self.t)
        value -= (self.lr * mh / (np.sqrt(vh) + self.eps)).astype(value.dtype)


def _metrics(pred, y, classes):
    precision, recall, f1 = [], [], []
    for c in range(classes):
        tp = np.sum((pred == c) & (y == c))
        p = tp / max(np.sum(pred == c), 1)
        r = tp / max(np.sum(y == c), 1)
        precision.append(p)
        recall.append(r)
        f1.append(2 * p * r / (p + r) if p + r else 0.0)
    return float(np.mean(precision)), float(np.mean(recall)), float(np.mean(f1))


def deep_gradient_norms(act, width: int, features: int, classes: int, x, y, seed: int, depth: int = 10):
    """||dL/dW|| of each layer at initialisation in a ``depth``-layer network."""
    net = MLP(act, [features] + [width] * (depth - 1) + [classes], seed)
    logits, cache = net.forward(x)
    _, d = loss_and_grad(logits, y)
    return [float(np.linalg.norm(gw)) for gw, _, _ in net.backward(cache, d)]


def train(name, dataset, data, *, hidden, epochs, seed, batch=64, lr=3e-3, tick: Callable | None = None):
    """Train one MLP with activation ``name``; the result row (and per-epoch history)."""
    act = get(name)
    if act.spec.kind != "elementwise":
        raise ValueError(f"{name} is axis-wise; compare takes elementwise activations")
    xtr, ytr, xte, yte, classes = data
    net = MLP(act, [xtr.shape[1], *hidden, classes], seed)
    logits, cache = net.forward(xtr[:2])  # compile (or load) the kernels outside the timed epochs
    net.backward(cache, loss_and_grad(logits, ytr[:2])[1])
    opt = Adam(lr=lr)
    rng = np.random.default_rng(seed + 1)
    history, reached, seconds = [], None, 0.0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(ytr.size)
        for lo in range(0, ytr.size, batch):
            idx = order[lo : lo + batch]
            logits, cache = net.forward(xtr[idx])
            _, d = loss_and_grad(logits, ytr[idx])
            opt.t += 1
            for i, (gw, gb, gp) in enumerate(net.backward(cache, d)):
                opt.step(("w", i), net.weights[i], gw)
                opt.step(("b", i), net.biases[i], gb)
                for k, gv in gp.items():
                    opt.step((k, i), net.params[i][k], gv)
        seconds += time.perf_counter() - start
        tr_logits, _ = net.forward(xtr)
        te_logits, _ = net.forward(xte)
        tr_loss, _ = loss_and_grad(tr_logits, ytr)
        te_loss, _ = loss_and_grad(te_logits, yte)
        acc = float(np.mean(te_logits.argmax(axis=1) == yte))
        history.append({"epoch": epoch, "train_loss": tr_loss, "test_loss": te_loss, "test_accuracy": acc})
        if reached is None and acc >= TARGET_ACCURACY[dataset]:
            reached = epoch
        if tick:
            tick()
    pred = net.forward(xte)[0].argmax(axis=1)
    precision, recall, f1 = _metrics(pred, yte, classes)
    _, cache = net.forward(xtr)
    dead = []
    for i in range(len(hidden)):
        z = cache[i][1]
        dgrad = act.grad(z, **net.params[i])
        dead.append(float(np.mean(np.all(np.abs(dgrad) < 1e-12, axis=0))))
    norms = deep_gradient_norms(act, hidden[0], xtr.shape[1], classes, xtr[:256], ytr[:256], seed)
    learned = {k: float(np.mean(v)) for p in net.params[:1] for k, v in p.items()}
    return {
        "activation": name, "test_accuracy": history[-1]["test_accuracy"], "precision": precision,
        "recall": recall, "f1": f1, "train_loss": history[-1]["train_loss"],
        "test_loss": history[-1]["test_loss"],
        "epochs_to_target": reached, "seconds_per_epoch": seconds / epochs, "dead_units": dead,
        "deep_grad_norms": norms, "learned_params_layer1_mean": learned, "history": history,
    }  # fmt: skip


def render(doc: dict) -> str:
    cfg = doc["config"]
    rows = []
    for r in doc["results"]:
        norms = r["deep_grad_norms"]
        rows.append([
            r["activation"], f"{r['test_accuracy']:.3f}", f"{r['f1']:.3f}", f"{r['precision']:.3f}",
            f"{r['recall']:.3f}", f"{r['train_loss']:.3f}", f"{r['test_loss']:.3f}",
            str(r["epochs_to_target"] or "-"), f"{r['seconds_per_epoch'] * 1e3:.0f} ms",
            "/".join(f"{d:.0%}" for d in r["dead_units"]), f"{norms[0]:.1e}", f"{norms[0] / norms[-1]:.1e}",
        ])  # fmt: skip
    header = ["activation", "test acc", "F1", "precision", "recall", "train loss", "test loss",
              f"epochs to {TARGET_ACCURACY[cfg['dataset']]:.0%}", "per epoch", "dead units", "deep |dW1|",
              "deep |dW1|/|dW10|"]  # fmt: skip
    return "\n".join([
        table(rows, header, numeric_right=True), "",
        f"{cfg['dataset']}: MLP {cfg['hidden']} hidden, Adam lr {cfg['lr']}, batch {cfg['batch']}, "
        f"{cfg['epochs']} epochs, seed {cfg['seed']}; He initialisation for all; metrics on the 25% test "
        "split (macro averages).",
        "dead units: share of each hidden layer with f'(z) = 0 on every training sample. deep: gradient "
        "norms at initialisation in a 10-layer variant (first layer, and first over last: << 1 = vanishing).",
    ])  # fmt: skip


def plot_losses(doc: dict, path: str) -> None:
    def draw(axes):
        for r in doc["results"]:
            epochs = [h["epoch"] for h in r["history"]]
            axes[0].plot(epochs, [h["test_loss"] for h in r["history"]], label=r["activation"])
            axes[1].plot(epochs, [h["test_accuracy"] for h in r["history"]], label=r["activation"])

    panels(path, ["test loss", "test accuracy"], "epoch", draw)
