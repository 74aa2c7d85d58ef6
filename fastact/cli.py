"""The ``fastact`` command line: list, show, eval, plugins (and bench).

Every error is one line on stderr: exit code 2 for a usage mistake (unknown name, bad value,
bad option), 1 for a run that failed. ``--json`` output goes to stdout alone; non-finite
numbers are written as the strings "nan", "inf" and "-inf" so the JSON stays strict.
"""

from __future__ import annotations

import functools
import json
import math
import sys
import warnings
from typing import Any

import click

from . import __version__, get, info
from .errors import (
    DTypeError,
    FastactError,
    FastactWarning,
    ParameterError,
    PluginError,
    ShapeMismatchError,
    SpecError,
    UnknownActivationError,
)
from .registry import REGISTRY
from .textfmt import table

USAGE_ERRORS = (UnknownActivationError, ParameterError, DTypeError, ShapeMismatchError, SpecError)


class CLIError(click.ClickException):
    """A one-line error with an explicit exit code (2 = usage, 1 = failed run)."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


class OneLineGroup(click.Group):
    """A click group whose errors (its own usage errors included) print as one line."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            click.echo(f"Error: {exc.format_message()}{hint}", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            click.echo(f"Error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except FastactError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2 if isinstance(exc, USAGE_ERRORS) else 1)
        except BrokenPipeError:
            sys.exit(1)
        sys.exit(0)


def jsonable(value: Any) -> Any:
    """Floats as JSON numbers, non-finite floats as strings, recursively."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def echo_json(data: Any) -> None:
    click.echo(json.dumps(jsonable(data), indent=2))


def report_failures() -> None:
    n = len(REGISTRY.failures)
    if n:
        click.echo(
            f"warning: {n} plugin entr{'y' if n == 1 else 'ies'} failed to load; `fastact plugins` shows why",
            err=True,
        )


@click.group(cls=OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fastact")
@click.option("--no-plugins", is_flag=True, help="Load builtin activations only (like FASTACT_PLUGINS=0).")
def main(no_plugins: bool) -> None:
    """Fast activation functions compiled with Numba: list, inspect, evaluate, benchmark."""
    warnings.simplefilter("ignore", FastactWarning)  # the CLI reports failures itself
    if no_plugins:
        REGISTRY.reload(plugins=False)


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--no-plugins", is_flag=True, help="Builtin activations only.")
def list_(as_json: bool, no_plugins: bool) -> None:
    """List every registered activation with its parameters, output range and source."""
    if no_plugins:
        REGISTRY.reload(plugins=False)
    entries = REGISTRY.entries()
    aliases: dict[str, list[str]] = {}
    for alias, target in REGISTRY.aliases().items():
        aliases.setdefault(target, []).append(alias)
    if as_json:
        echo_json(
            [
                {
                    "name": e.spec.name,
                    "qualified_name": e.qualified_name,
                    "kind": e.spec.kind,
                    "params": {p.name: p.default for p in e.spec.params},
                    "output_range": e.spec.properties.output_range,
                    "source": e.source,
                    "aliases": aliases.get(e.spec.name, []),
                }
                for e in entries
            ]
        )
    else:
        rows = [
            [
                e.spec.name,
                e.spec.kind,
                ", ".join(f"{p.name}={p.default:g}" for p in e.spec.params) or "-",
                e.spec.properties.output_range,
                e.source,
                ", ".join(aliases.get(e.spec.name, [])),
            ]
            for e in entries
        ]
        click.echo(table(rows, ["name", "kind", "parameters", "output range", "source", "aliases"]))
        click.echo(f"\n{len(entries)} activations", err=True)
    report_failures()


@main.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show(name: str, as_json: bool) -> None:
    """Show one activation: formula, derivative, parameters, properties, accuracy, source."""
    data = info(name)
    if as_json:
        echo_json(data)
        return
    props = data["properties"]
    yes = {True: "yes", False: "no"}
    lines = [
        f"{data['name']}  ({data['qualified_name']})",
        f"  {data['summary']}",
        f"  formula      {data['formula']}",
    ]
    if data["kind"] == "axis":
        shape = {"same": "the input's", "reduce": "the input's without the axis (keepdims=True keeps it)",
                 "half": "the input's with the axis halved"}[data["output"]]  # fmt: skip
        lines.append(f"  kind         axis-wise (axis=-1 by default); output shape {shape}")
        lines.append("  derivative   backward(x, grad_out, axis): the vector-Jacobian product")
    else:
        lines.append(f"  derivative   {data['derivative']}")
    if data["params"]:
        for i, p in enumerate(data["params"]):
            label = "parameters" if i == 0 else ""
            lines.append(
                f"  {label:<12} {p['name']} = {p['default']:g} in {p['bounds']}  {p['doc']}".rstrip()
            )
    else:
        lines.append("  parameters   none")
    lines.append(
        f"  properties   range {props['output_range']}; monotonic {yes[props['monotonic']]}; "
        f"smooth {yes[props['smooth']]}; zero-centred {yes[props['zero_centered']]}; "
        f"saturating {yes[props['saturating']]}; sparse {yes[props['sparse']]}"
    )
    if data["max_ulp"]:
        bounds = ", ".join(f"{v:g} ULP ({k})" for k, v in data["max_ulp"].items())
        lines.append(f"  accuracy     max error {bounds}")
    if data["aliases"]:
        lines.append(f"  aliases      {', '.join(data['aliases'])}")
    if data.get("notes"):
        lines.append(f"  notes        {data['notes']}")
    if data.get("param_derivatives"):
        lines.append(f"  learnable    d/d {', '.join(data['param_derivatives'])}")
    lines.append(f"  source       {data['source']} {data['version']}".rstrip())
    click.echo("\n".join(lines))


def _parse_values(values: tuple[str, ...], input_file: str | None):
    import numpy as np

    if input_file:
        try:
            arr = np.load(input_file, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise CLIError(f"cannot read {input_file}: {exc}", 2) from None
        return np.asarray(arr)
    if not values:
        stdin = click.get_text_stream("stdin")
        if stdin is not None and not stdin.isatty():
            values = tuple(stdin.read().replace(",", " ").split())
    if not values:
        raise CLIError("no values: give VALUES, --input FILE.npy, or pipe numbers on stdin", 2)
    out = []
    for v in values:
        try:
            out.append(float(v))
        except ValueError:
            raise CLIError(f"{v!r} is not a number", 2) from None
    return np.array(out)


def _parse_params(items: tuple[str, ...]) -> dict[str, float]:
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CLIError(f"--param takes NAME=VALUE, not {item!r}", 2)
        try:
            params[key.strip()] = float(value)
        except ValueError:
            raise CLIError(f"--param {key.strip()}: {value!r} is not a number", 2) from None
    return params


@main.command("eval", context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("values", nargs=-1)
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE", help="Set a parameter.")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default="float64", show_default=True)
@click.option("--grad", is_flag=True, help="Also print the derivative.")
@click.option("--input", "input_file", type=click.Path(dir_okay=False), help="Read values from a .npy file.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def eval_(name, values, params, dtype, grad, input_file, as_json) -> None:
    """Evaluate NAME at VALUES (arguments, a .npy file or numbers on stdin)."""
    import numpy as np

    for v in values:  # ignore_unknown_options lets "-1e4" through; a real typo must not pass
        if v.startswith("--"):
            raise CLIError(f"no such option: {v}", 2)
    act = get(name)
    if grad and act.spec.kind == "axis":
        raise CLIError(f"{act.name} is axis-wise: its derivative is a Jacobian, so --grad does not apply", 2)
    kw = _parse_params(params)
    x = _parse_values(values, input_file).astype(dtype)
    y = act(x, **kw)
    d = act.grad(x, **kw) if grad else None
    bound = dict(zip(act.spec.param_names, act.bind((), kw)))
    if as_json:
        data = {
            "name": act.name,
            "dtype": dtype,
            "params": bound,
            "x": x.ravel().tolist(),
            "y": np.ravel(y).tolist(),
        }
        if d is not None:
            data["grad"] = np.ravel(d).tolist()
        echo_json(data)
        return
    fmt = (lambda v: repr(float(v))) if dtype == "float64" else (lambda v: str(np.float32(v)))
    if np.size(y) != x.size:  # an axis-wise reduction or gated unit: its own line
        args, result = (", ".join(fmt(v) for v in np.ravel(a)) for a in (x, y))
        click.echo(f"{act.name}({args}) = {result}")
        return
    header = ["x", f"{act.name}(x)"] + ([f"{act.name}'(x)"] if grad else [])
    cols = [x.ravel(), np.ravel(y)] + ([np.ravel(d)] if grad else [])
    rows = [[fmt(c[i]) for c in cols] for i in range(x.size)]
    click.echo(table(rows, header))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins(as_json: bool) -> None:
    """Installed distributions that provide activations, and plugins that failed to load."""
    by_source: dict[str, list[str]] = {}
    for e in REGISTRY.all_entries():
        by_source.setdefault(e.source, []).append(e.spec.name)
    dists = [
        {"name": d, "version": v, "activations": by_source.get(d, [])}
        for d, v in REGISTRY.distributions.items()
    ]
    if "runtime" in by_source:
        dists.append({"name": "runtime", "version": "", "activations": by_source["runtime"]})
    failures = [
        {"source": f.source, "entry_point": f.entry_point, "error": f.error} for f in REGISTRY.failures
    ]
    conflicts = [str(c) for c in REGISTRY.conflicts]
    if as_json:
        echo_json(
            {
                "plugins_enabled": REGISTRY.plugins,
                "distributions": dists,
                "failures": failures,
                "conflicts": conflicts,
            }
        )
        return
    for d in dists:
        names = d["activations"]
        click.echo(
            f"{d['name']} {d['version']}".rstrip() + f": {len(names)} activation(s): {', '.join(names)}"
        )
    for f in REGISTRY.failures:
        click.echo(f"FAILED {f}")
    for c in conflicts:
        click.echo(f"conflict: {c}")
    if not REGISTRY.plugins:
        click.echo("(plugins disabled: builtins only)")


@main.command("check-plugin")
@click.argument("target")
@click.option("--samples", "n", type=click.IntRange(100), default=20_000, show_default=True,
              help="Sampled inputs per dtype.")  # fmt: skip
@click.option("--cuda", "cuda", flag_value="device", help="Also check the CUDA kernels on the GPU.")
@click.option(
    "--cuda-sim", "cuda", flag_value="sim", help="Also check the CUDA kernels in the CUDA simulator."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def check_plugin(target: str, n: int, cuda: str | None, as_json: bool) -> None:
    """Check a plugin's activations the way the builtins are checked.

    TARGET is an installed distribution (``fastact-zoo``) or ``MODULE[:ATTR]``
    (``my_pkg.acts:specs``). Checks: the spec is valid; the kernels compile; forward matches
    the reference within the stated max ULP; NaN and infinities agree with the reference; the
    derivative and parameter derivatives match finite differences of the reference. One line
    per problem; exit code 1 when there is any.
    """
    if cuda == "sim":
        import os

        if "numba" in sys.modules and os.environ.get("NUMBA_ENABLE_CUDASIM", "0") in ("", "0"):
            raise CLIError("--cuda-sim must switch the simulator on before Numba is imported; "
                           "set NUMBA_ENABLE_CUDASIM=1 instead", 2)  # fmt: skip
        os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
    from .checks import check_spec
    from .plugin_tools import plugin_specs

    try:
        source, specs, problems = plugin_specs(target)
    except PluginError as exc:
        raise CLIError(str(exc), 2) from None
    results = []
    for spec in specs:
        found = check_spec(spec, source=source, n=n, cuda=cuda is not None)
        results.append((getattr(spec, "name", "?"), found))
        problems += found
    if as_json:
        echo_json(
            {
                "target": source,
                "activations": [{"name": name, "ok": not found} for name, found in results],
                "problems": [
                    {"activation": p.activation, "check": p.check, "message": p.message} for p in problems
                ],
            }
        )
    else:
        for name, found in results:
            if not found:
                click.echo(f"ok    {source}:{name}")
        for p in problems:
            click.echo(f"FAIL  {p}")
    if not specs and not problems:
        raise CLIError(f"{source} provides no activations", 1)
    if problems:
        raise CLIError(f"{source}: {len(problems)} problem(s) in {len(specs)} activation(s) checked", 1)
    if not as_json:
        click.echo(f"{source}: all {len(specs)} activation(s) pass")


@main.command("c-header")
@click.argument("names", nargs=-1)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write to FILE, not stdout."
)
def c_header(names: tuple[str, ...], output: str | None) -> None:
    """Write fastact.h: C declarations of the activations' C entry points (fastact.c_api)."""
    from .kernels.cabi import header

    entries = [REGISTRY.entry(name) for name in names] if names else REGISTRY.entries("elementwise")
    for e in entries:
        if e.spec.kind != "elementwise":
            raise CLIError(
                f"{e.spec.name} is axis-wise: C entry points exist for elementwise activations only", 2
            )
    text = header(
        [(e.spec.name if e.source in ("fastact", "runtime") else e.qualified_name, e.spec) for e in entries]
    )
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        with open(output, "w") as fh:
            fh.write(text)
    except OSError as exc:
        raise CLIError(f"cannot write {output}: {exc.strerror}", 1) from None
    click.echo(f"wrote {output} ({len(entries)} activation(s))", err=True)


@main.command("new-plugin")
@click.argument("name")
@click.option("-d", "--directory", type=click.Path(file_okay=False), default=".", show_default=True)
@click.option(
    "--activation", default="shifted_softplus", show_default=True, help="The example activation's name."
)
def new_plugin(name: str, directory: str, activation: str) -> None:
    """Write a ready-to-install plugin package NAME (pyproject entry point, one activation, a test)."""
    from pathlib import Path

    from .plugin_tools import new_plugin as write

    try:
        files = write(name, Path(directory), activation)
    except PluginError as exc:
        raise CLIError(str(exc), 2) from None
    except OSError as exc:
        raise CLIError(f"cannot write the plugin: {exc}", 1) from None
    for path in files:
        click.echo(f"wrote {path}")
    click.echo(f"next: pip install -e {files[0].parent} && fastact check-plugin {name}")


@main.command()
@click.argument("names", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write a PNG (needs matplotlib).")
@click.option(
    "--range", "xrange", nargs=2, type=float, default=(-5.0, 5.0), show_default=True, metavar="LO HI"
)
@click.option("--grad", is_flag=True, help="Also plot the derivatives (side by side in the PNG).")
def plot(names: tuple[str, ...], output: str | None, xrange: tuple[float, float], grad: bool) -> None:
    """Plot activations (names or compositions like x*tanh.softplus) and their derivatives.

    With -o a PNG via matplotlib (the `plot` extra); without it a sketch in the terminal.
    """
    from . import plot as plot_mod

    lo, hi = xrange
    if not lo < hi:
        raise CLIError(f"--range needs LO < HI, not {lo:g} {hi:g}", 2)
    for name in names:
        get(name)  # unknown names: one line, exit 2
    try:
        if output is None:
            click.echo(plot_mod.sketch(names, lo, hi, grad))
            return
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise CLIError("fastact plot -o needs matplotlib: pip install 'fastact[plot]' "
                           "(without -o it draws in the terminal)", 1) from None  # fmt: skip
        plot_mod.figure(names, lo, hi, grad, output)
    except ValueError as exc:
        raise CLIError(str(exc), 2) from None
    except OSError as exc:
        raise CLIError(f"cannot write {output}: {exc.strerror or exc}", 1) from None
    click.echo(f"wrote {output}", err=True)


@main.command()
@click.argument("names", nargs=-1)
@click.option("--dataset", type=click.Choice(["digits", "spirals"]), default="digits", show_default=True)
@click.option("--epochs", type=click.IntRange(1, 10_000), default=30, show_default=True)
@click.option("--hidden", default="64,64", show_default=True, help="Hidden layer widths.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--lr", type=click.FloatRange(0, 1, min_open=True), default=3e-3, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (with per-epoch history).")
@click.option(
    "--plot", "plot_path", type=click.Path(dir_okay=False), help="Write loss/accuracy curves (PNG)."
)
def compare(names, dataset, epochs, hidden, seed, lr, as_json, plot_path):
    """Train the same MLP once per activation and compare accuracy, losses, dead units, gradients.

    Default activations: relu, leaky_relu, elu, gelu, silu, mish, tanh, sigmoid, prelu (learnable).
    Deterministic for a seed.
    """
    from . import compare as cmp

    try:
        widths = [int(w) for w in hidden.split(",") if w.strip()]
    except ValueError:
        widths = []
    if not widths or min(widths) < 1:
        raise CLIError(f"--hidden takes positive layer widths like 64,64, not {hidden!r}", 2)
    names = list(names) or cmp.DEFAULT
    acts = [get(n) for n in names]  # unknown names: one line, exit 2
    if any(a.spec.kind != "elementwise" for a in acts):
        raise CLIError("compare takes elementwise activations", 2)
    if plot_path:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise CLIError("--plot needs matplotlib: pip install 'fastact[plot]'", 1) from None
    try:
        data = cmp.load(dataset, seed)
    except ImportError as exc:
        raise CLIError(str(exc), 1) from None
    results = []
    with click.progressbar(length=len(names) * epochs, label=f"fastact compare ({dataset})", file=sys.stderr,
                           hidden=as_json or not sys.stderr.isatty()) as bar:  # fmt: skip
        for name in names:
            results.append(cmp.train(name, dataset, data, hidden=widths, epochs=epochs, seed=seed, lr=lr,
                                     tick=lambda: bar.update(1)))  # fmt: skip
    config = {"dataset": dataset, "epochs": epochs, "hidden": widths, "seed": seed, "lr": lr, "batch": 64}
    doc = {"config": config, "results": results}
    if plot_path:
        cmp.plot_losses(doc, plot_path)
    if as_json:
        echo_json(doc)
    else:
        click.echo(cmp.render(doc))


class SizeType(click.ParamType):
    """A positive element count: 1e7, 10000000 or 10_000_000."""

    name = "N"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            number = float(str(value).replace("_", ""))
        except ValueError:
            self.fail(f"{value!r} is not a number of elements", param, ctx)
        if not (number >= 1 and number == int(number) and number < 2**62):
            self.fail(f"{value!r} is not a positive whole number of elements", param, ctx)
        return int(number)


@main.command()
@click.argument("names", nargs=-1)
@click.option("--dtype", type=click.Choice(["float32", "float64", "all"]), default="all", show_default=True)
@click.option(
    "--samples", "n", type=SizeType(), default=1_000_000, show_default=True, help="Inputs per dtype."
)
@click.option("--op", type=click.Choice(["forward", "grad", "all"]), default="all", show_default=True)
@click.option("--exhaustive", is_flag=True, help="All 2^32 float32 bit patterns (minutes per activation).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def verify(names, dtype, n, op, exhaustive, seed, as_json):
    """Measure max ULP, absolute and relative error against the NumPy references.

    Exit code 1 when an activation exceeds its documented bound (`fastact show NAME`).
    """
    from . import verify as verify_mod

    if exhaustive and dtype == "float64":
        raise CLIError("--exhaustive walks the 2^32 float32 bit patterns; use --dtype float32", 2)
    dtypes = ["float32"] if exhaustive else (["float32", "float64"] if dtype == "all" else [dtype])
    ops = verify_mod.OPS if op == "all" else (op,)
    activations = [get(name) for name in (names or REGISTRY.names())]
    steps = len(activations) * len(dtypes) * ((1 << 32) // verify_mod.CHUNK if exhaustive else 1)
    results = []
    with click.progressbar(
        length=steps, label="fastact verify", file=sys.stderr, show_pos=True,
        hidden=as_json or not sys.stderr.isatty(),
    ) as bar:  # fmt: skip
        for act in activations:
            for dt in dtypes:
                if act.spec.kind == "axis":
                    if not exhaustive:
                        results += verify_mod.verify_axis(
                            act, dt, n=n, seed=seed, progress=lambda: bar.update(1)
                        )
                    continue
                results += verify_mod.verify(
                    act, dt, n=n, ops=ops, exhaustive=exhaustive, seed=seed, progress=lambda: bar.update(1)
                )
    failed = [r for r in results if not r["ok"]]
    if as_json:
        echo_json(
            {"exhaustive": exhaustive, "samples_per_dtype": None if exhaustive else n, "results": results}
        )
    else:
        rows = []
        for r in results:
            if "skipped" in r:
                rows.append([r["activation"], r["dtype"], r["op"], "-", "-", "-", "-", "-", r["skipped"]])
                continue
            worst = "-" if r["worst_x"] is None else repr(r["worst_x"])
            status = "ok" if r["ok"] else f"FAIL ({r['failures']} inputs)"
            if r["near_zero_inputs"]:
                status += f" ({r['near_zero_inputs']} near a zero: abs <= {r['abs_slack']:.1e})"
            rows.append(
                [r["activation"], r["dtype"], r["op"], f"{r['max_ulp']:.3g}", f"{r['bound_ulp']:g}",
                 f"{r['max_abs']:.2e}", f"{r['max_rel']:.2e}", worst, status]
            )  # fmt: skip
        header = ["activation", "dtype", "op", "max ULP", "bound", "max abs", "max rel", "worst x", "status"]
        click.echo(table(rows, header))
    if failed:
        names_failed = sorted({f"{r['activation']} ({r['dtype']} {r['op']})" for r in failed})
        raise CLIError(
            f"{len(names_failed)} check(s) exceed their documented bound: {', '.join(names_failed)}", 1
        )


def _baseline_list(ctx, param, value: str | None) -> list[str] | None:
    from .bench import BASELINES
    from .bench_cuda import BASELINES as CUDA_BASELINES

    if value is None:
        return None  # the target's default
    if value.strip().lower() in ("", "none"):
        return []
    known = list(dict.fromkeys([*BASELINES, *CUDA_BASELINES]))
    names = [v.strip().lower() for v in value.split(",") if v.strip()]
    for name in names:
        if name not in known:
            raise click.BadParameter(f"{name!r} is not one of {', '.join(known)} (or 'none')")
    return names


@main.command()
@click.argument("names", nargs=-1)
@click.option("--target", type=click.Choice(["cpu", "parallel", "cuda"]), default="cpu", show_default=True)
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="dask: a chunked array on a LocalCluster of --workers processes, beside NumPy-in-Dask.",
)
@click.option("--workers", default="1,2", show_default=True, help="With --engine dask: worker counts to run.")
@click.option("--chunk", type=SizeType(), default=10_000_000, show_default=True, help="With --engine dask.")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default="float32", show_default=True)
@click.option(
    "--size", "sizes", type=SizeType(), multiple=True, help="Elements per array; repeatable.  [default: 1e7]"
)
@click.option(
    "--op", type=click.Choice(["forward", "grad", "backward", "all"]), default="forward", show_default=True
)
@click.option(
    "--baseline", "baselines", default=None, callback=_baseline_list,
    help="Comma-separated baselines to time beside fastact, or 'none'. "
    "[default: numpy,torch,numexpr; with --target cuda: torch,cupy]",
)  # fmt: skip
@click.option("--repeat", type=click.IntRange(1, 1000), default=5, show_default=True, help="Timed rounds.")
@click.option(
    "--compile", "show_compile", is_flag=True, help="Show the first-use compile (or cache-load) time."
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON instead of the table.")
@click.option(
    "--output", type=click.Path(dir_okay=False, writable=True), help="Also write the JSON results here."
)
@click.option(
    "--compare", nargs=2, type=click.Path(exists=True, dir_okay=False), metavar="OLD.json NEW.json",
    help="Compare two saved runs instead of measuring.",
)  # fmt: skip
def bench(
    names, target, engine, workers, chunk, dtype, sizes, op, baselines, repeat, show_compile, as_json, output,
    compare,
):  # fmt: skip
    """Time activations beside a memory copy of the same array and NumPy/PyTorch/numexpr.

    With no NAMES every registered activation is measured, forward, float32, 1e7 elements
    (1e8 with --target cuda: kernel time from CUDA events beside a device-to-device copy,
    plus end-to-end time with the host transfers).
    """
    from . import bench as bench_mod

    if compare:
        try:
            old, new = (bench_mod.load(p) for p in compare)
        except (OSError, ValueError) as exc:
            raise CLIError(str(exc), 2) from None
        rows, text = bench_mod.compare(old, new)
        if as_json:
            echo_json(rows)
        else:
            click.echo(text)
        return
    if engine == "dask":
        _bench_dask(names, workers, chunk, dtype, sizes, repeat, as_json, output)
        return
    activations = [get(n, target=target) for n in (names or REGISTRY.names())]
    ops = list(bench_mod.OPS) if op == "all" else [op]
    sizes = list(sizes) or [100_000_000 if target == "cuda" else 10_000_000]
    if target == "cuda":
        from . import bench_cuda

        run = bench_cuda.run
        baselines = list(bench_cuda.BASELINES) if baselines is None else baselines
    else:
        run = functools.partial(bench_mod.run, target=target)
        baselines = list(bench_mod.BASELINES) if baselines is None else baselines
    tasks = len(activations) * len(ops) * len(sizes)
    with click.progressbar(
        length=tasks, label="fastact bench", file=sys.stderr, show_pos=True,
        hidden=as_json or not sys.stderr.isatty(),
        item_show_func=lambda item: item,
    ) as bar:  # fmt: skip

        def progress(label: str) -> None:
            bar.update(1, label)

        doc = run(
            activations,
            dtype=dtype,
            sizes=sizes,
            ops=ops,
            baselines=baselines,
            repeat=repeat,
            progress=progress,
        )
    if output:
        with open(output, "w") as f:
            json.dump(jsonable(doc), f, indent=2)
    if as_json:
        echo_json(doc)
    else:
        click.echo(bench_mod.render(doc, show_compile=show_compile))


def _bench_dask(names, workers, chunk, dtype, sizes, repeat, as_json, output) -> None:
    try:
        import dask.array  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise CLIError("--engine dask needs dask and distributed: pip install 'fastact[dask]'", 1) from None
    from . import bench_dask

    try:
        counts = [int(w) for w in workers.split(",") if w.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise CLIError(f"--workers takes positive worker counts like 1,2, not {workers!r}", 2)
    acts = [get(n) for n in (names or ["relu", "gelu", "silu"])]
    if any(a.spec.kind != "elementwise" for a in acts):
        raise CLIError("--engine dask measures elementwise activations", 2)
    doc = bench_dask.run(acts, dtype=dtype, size=(list(sizes) or [1_000_000_000])[0], chunk=chunk,
                         workers=counts, repeat=repeat)  # fmt: skip
    if output:
        with open(output, "w") as f:
            json.dump(jsonable(doc), f, indent=2)
    click.echo(json.dumps(jsonable(doc), indent=2) if as_json else bench_dask.render(doc))


if __name__ == "__main__":  # pragma: no cover
    main()
