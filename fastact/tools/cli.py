"""The ``fastact`` command line. Commands: ``list``, ``show``, ``eval``, ``plugins``,
``check-plugin``, ``c-header``, ``new-plugin``, ``plot``, ``compare``, ``verify``, ``bench``
and ``cache info|clear`` (``fastact --help`` and ``fastact COMMAND --help`` say more).

Every error is one line on stderr: exit code 2 for a usage mistake (unknown name, bad value,
bad option, an output path that cannot be written), 1 for a run that failed. ``--json`` output
goes to stdout alone; non-finite numbers are written as the strings "nan", "inf" and "-inf" so
the JSON stays strict. Output paths are checked before any work starts; if writing still fails
at the end, the results go to stdout and the error is one line on stderr.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import click

from .. import __version__, cache, get, info
from ..errors import (
    CacheWarning,
    DTypeError,
    FastactError,
    FastactWarning,
    ParameterError,
    PluginError,
    ShapeMismatchError,
    SpecError,
    UnknownActivationError,
)
from ..kernels.cabi import c_name, header
from ..registry import REGISTRY
from ..testing import verify as verify_mod
from ..testing.checks import check_spec
from . import bench as bench_mod
from . import bench_compile, bench_cuda, bench_dask, plugin_tools
from . import compare as cmp
from . import plot as plot_mod
from .bench import BASELINES
from .bench_cuda import BASELINES as CUDA_BASELINES
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
            click.echo(f"Error: {one_line(exc)}", err=True)
            sys.exit(2 if isinstance(exc, USAGE_ERRORS) else 1)
        except BrokenPipeError:
            sys.exit(1)
        except MemoryError:
            click.echo("Error: out of memory; try a smaller --size or --samples", err=True)
            sys.exit(1)
        except Exception as exc:  # a bug, not a user mistake: still one line (FASTACT_DEBUG=1 shows it)
            if os.environ.get("FASTACT_DEBUG", "0") not in ("", "0"):
                raise
            click.echo(f"Error: unexpected {type(exc).__name__}: {one_line(exc)} "
                       "(set FASTACT_DEBUG=1 for the traceback)", err=True)  # fmt: skip
            sys.exit(1)
        sys.exit(0)


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


_default_showwarning = warnings.showwarning


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """fastact's own warnings (the kernel cache's) as one ``warning:`` line on stderr."""
    if isinstance(category, type) and issubclass(category, FastactWarning):
        click.echo(f"warning: {' '.join(str(message).split())}", err=True)
        return
    _default_showwarning(message, category, filename, lineno, file, line)


def np_quiet():
    """NumPy floating-point warnings off (curves over wide ranges overflow on purpose)."""
    import numpy as np

    return np.errstate(all="ignore")


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


def check_output(path: str | None, option: str) -> None:
    """Refuse (exit 2, before any work) an output path that cannot be written: a missing
    directory, a directory, a file or directory without write permission."""
    if path is None:
        return
    target = Path(path)
    parent = target.parent
    if target.is_dir():
        raise CLIError(f"{option} {path}: is a directory", 2)
    if not parent.is_dir():
        raise CLIError(f"{option} {path}: the directory {parent} does not exist", 2)
    if target.exists():
        if not os.access(target, os.W_OK):
            raise CLIError(f"{option} {path}: the file is not writable", 2)
    elif not os.access(parent, os.W_OK | os.X_OK):
        raise CLIError(f"{option} {path}: cannot create files in {parent}", 2)


def write_text(path: str, text: str) -> None:
    with open(path, "w") as fh:
        fh.write(text)


def write_or_print(path: str, text: str, printed: bool) -> None:
    """Write ``text`` to ``path``; if that fails, put ``text`` on stdout (unless ``printed``
    already) so no result is lost, and fail with one line."""
    try:
        write_text(path, text)
    except OSError as exc:
        if not printed:
            click.echo(text, nl=not text.endswith("\n"))
        raise CLIError(f"cannot write {path}: {exc.strerror or exc}; the results are on stdout", 1) from None


def available_memory() -> int | None:
    """Bytes of memory available now (Linux MemAvailable, else physical memory), or None."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(need: float, option: str, what: str) -> None:
    """Refuse (exit 2) before allocating when ``need`` bytes exceed the memory available."""
    have = available_memory()
    if have is not None and need > have:
        raise CLIError(
            f"{option}: {what} needs about {_bytes(need)} of memory; {_bytes(have)} are available", 2
        )


def _bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"  # pragma: no cover


@click.group(cls=OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fastact")
@click.option("--no-plugins", is_flag=True, help="Load builtin activations only (like FASTACT_PLUGINS=0).")
def main(no_plugins: bool) -> None:
    """Fast activation functions compiled with Numba: list, inspect, evaluate, benchmark."""
    warnings.simplefilter("ignore", FastactWarning)  # the CLI reports plugin failures itself
    warnings.simplefilter("always", CacheWarning)  # said once each by fastact.cache: one line
    warnings.showwarning = _show_warning
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
                    "learnable": [p.name for p in e.spec.params if p.learnable],
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
    learnable = {p.name for p in REGISTRY.entry(name).spec.params if p.learnable}
    for p in data["params"]:
        p["learnable"] = p["name"] in learnable  # Param(..., learnable=True)
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
                f"  {label:<12} {p['name']} = {p['default']:g} in {p['bounds']}"
                + (" (learnable)" if p["learnable"] else "")
                + f"  {p['doc']}".rstrip()
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
        lines.append(f"  param grads  d/d {', '.join(data['param_derivatives'])}")
    lines.append(f"  source       {data['source']} {data['version']}".rstrip())
    click.echo("\n".join(lines))


def _load_npy(path: str):
    """The array in a .npy file of real numbers; one-line usage errors for anything else
    (a .npz archive, a text file, strings, Python objects, complex numbers)."""
    import numpy as np

    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror or exc}", 2) from None
    if magic.startswith(b"PK\x03\x04"):
        raise CLIError(f"{path} is a .npz archive; --input takes one array in a .npy file (numpy.save)", 2)
    if magic != b"\x93NUMPY":
        raise CLIError(f"{path} is not a .npy file; --input takes an array saved with numpy.save", 2)
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise CLIError(f"{path} holds Python objects (dtype object), not numbers", 2) from None
        raise CLIError(f"cannot read {path}: {one_line(exc)}", 2) from None
    except (OSError, EOFError) as exc:
        raise CLIError(f"cannot read {path}: {one_line(exc)}", 2) from None
    arr = np.asarray(arr)
    if arr.dtype.kind == "c":
        raise DTypeError(f"{path} holds complex numbers ({arr.dtype}); fastact computes on real numbers")
    if arr.dtype.kind not in "biuf":
        raise CLIError(f"{path} holds {arr.dtype} values, not real numbers", 2)
    return arr


def _parse_values(values: tuple[str, ...], input_file: str | None):
    import numpy as np

    if input_file:
        if values:
            raise CLIError("give VALUES or --input FILE.npy, not both", 2)
        return _load_npy(input_file)
    if not values:
        stdin = sys.stdin
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
    (``my_pkg.acts:specs``). Checks, at the defaults and at 3 seeded parameter sets drawn
    across the declared bounds: the spec is valid; the kernels compile; forward matches the
    reference within the stated max ULP (float32 and float64) and keeps its signed zeros; NaN
    and infinities agree with the reference; the derivative matches the reference derivative
    and, like every parameter derivative, finite differences of the forward reference over
    |x| from 1e-4 to 1e3 (and a few to 1e4). One line per problem, naming DIST:NAME and the
    parameter set; exit code 1 when there is any.
    """
    if cuda == "sim":
        import os

        if "numba" in sys.modules and os.environ.get("NUMBA_ENABLE_CUDASIM", "0") in ("", "0"):
            raise CLIError("--cuda-sim must switch the simulator on before Numba is imported; "
                           "set NUMBA_ENABLE_CUDASIM=1 instead", 2)  # fmt: skip
        os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
    try:
        source, specs, problems = plugin_tools.plugin_specs(target)
    except PluginError as exc:
        raise CLIError(str(exc), 2) from None
    results = []
    for spec in specs:
        name = getattr(spec, "name", "?")
        found = check_spec(spec, source=source, n=n, cuda=cuda is not None)
        # a problem found outside check_spec (a lost name conflict) fails the activation too:
        # never "ok dist:gelu" and then "FAIL dist:gelu: name: ..."
        found += [p for p in problems if p.activation == f"{source}:{name}"]
        results.append((name, found))
        problems += [p for p in found if p not in problems]
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
    check_output(output, "--output")
    entries = [REGISTRY.entry(name) for name in names] if names else REGISTRY.entries("elementwise")
    for e in entries:
        if e.spec.kind != "elementwise":
            raise CLIError(
                f"{e.spec.name} is axis-wise: C entry points exist for elementwise activations only", 2
            )
    # the symbols' NAME follows cabi's one rule, the same as fastact.c_api(...).signature
    text = header([(c_name(e.qualified_name), e.spec) for e in entries])
    if output is None:
        click.echo(text, nl=False)
        return
    write_or_print(output, text, printed=False)
    click.echo(f"wrote {output} ({len(entries)} activation(s))", err=True)


@main.command("new-plugin")
@click.argument("name")
@click.option("-d", "--directory", type=click.Path(file_okay=False), default=".", show_default=True)
@click.option(
    "--activation", default="shifted_softplus", show_default=True, help="The example activation's name."
)
def new_plugin(name: str, directory: str, activation: str) -> None:
    """Write a ready-to-install plugin package NAME (pyproject entry point, one activation, a test)."""
    try:
        files = plugin_tools.new_plugin(name, Path(directory), activation)
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
    lo, hi = xrange
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise CLIError(f"--range needs finite LO and HI, not {lo:g} {hi:g}", 2)
    if not lo < hi:
        raise CLIError(f"--range needs LO < HI, not {lo:g} {hi:g}", 2)
    if not math.isfinite(hi - lo) or (hi - lo) / 800 <= 0 or lo + (hi - lo) / 800 == lo:
        raise CLIError(f"--range {lo:g} {hi:g}: HI - LO must be finite and wide enough for 800 steps", 2)
    check_output(output, "--output")
    for name in names:
        get(name)  # unknown names: one line, exit 2
    if output is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise CLIError("fastact plot -o needs matplotlib: pip install 'fastact[plot]' "
                           "(without -o it draws in the terminal)", 1) from None  # fmt: skip
    try:
        with np_quiet():
            if output is None:
                click.echo(plot_mod.sketch(names, lo, hi, grad))
                return
            try:
                plot_mod.figure(names, lo, hi, grad, output)
            except OSError as exc:
                click.echo(plot_mod.sketch(names, lo, hi, grad))  # the picture, at least
                why = exc.strerror or exc
                raise CLIError(f"cannot write {output}: {why}; a sketch is on stdout", 1) from None
    except (ValueError, ZeroDivisionError, OverflowError) as exc:
        raise CLIError(f"cannot plot over --range {lo:g} {hi:g}: {one_line(exc)}", 2) from None
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
    widths = _positive_ints(hidden, "--hidden takes positive layer widths like 64,64")
    check_output(plot_path, "--plot")
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
    if as_json:  # the results first: a plot that fails to write loses nothing
        echo_json(doc)
    else:
        click.echo(cmp.render(doc))
    if plot_path:
        try:
            cmp.plot_losses(doc, plot_path)
        except OSError as exc:
            raise CLIError(
                f"cannot write {plot_path}: {exc.strerror or exc}; the results are on stdout", 1
            ) from None


#: rough peak bytes per element: verify's samples (float64 copies, long double references,
#: error arrays and masks), and bench's arrays of the benchmarked dtype (x, g, out, scratch,
#: the copy's output, the baselines' temporaries)
VERIFY_BYTES_PER_SAMPLE = 128
BENCH_ARRAYS = 8


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
        if not math.isfinite(number) or not (number >= 1 and number == int(number) and number < 2**62):
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
@click.option(
    "--params", "param_mode", type=click.Choice(["all", "defaults"]), default="all", show_default=True,
    help="Parameter sets: the defaults and 3 seeded sets across the bounds, or the defaults only.",
)  # fmt: skip
@click.option("--workers", type=int, default=None, help="Processes for --exhaustive (default: every core).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Also write the JSON results here.")
def verify(names, dtype, n, op, exhaustive, seed, param_mode, workers, as_json, output):
    """Measure max ULP, absolute and relative error against mpmath (where fastact has an
    oracle for the function) and the NumPy references.

    "max ULP" is the true maximum; "outside slack" leaves out the inputs that pass only
    through the absolute slack near a zero (counted in the status). Exit code 1 when an
    activation exceeds its documented bound (`fastact show NAME`).
    """
    if workers is not None and workers < 1:
        raise CLIError("--workers must be at least 1", 2)
    if exhaustive and dtype == "float64":
        raise CLIError("--exhaustive walks the 2^32 float32 bit patterns; use --dtype float32", 2)
    dtypes = ["float32"] if exhaustive else (["float32", "float64"] if dtype == "all" else [dtype])
    ops = verify_mod.OPS if op == "all" else (op,)
    check_output(output, "--output")
    if not exhaustive:  # inputs, references (float64, long double), errors, masks
        check_memory(n * VERIFY_BYTES_PER_SAMPLE, "--samples", f"verifying {n:,} samples")
    activations = [get(name) for name in (names or REGISTRY.names())]
    n_sets = {a.name: len(verify_mod.param_sets(a.spec)) if param_mode == "all" else 1 for a in activations}
    steps = sum(
        n_sets[a.name] * len(dtypes) * ((1 << 32) // verify_mod.CHUNK if exhaustive else 1)
        for a in activations
    )
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
                    act, dt, n=n, ops=ops, exhaustive=exhaustive, seed=seed, progress=lambda: bar.update(1),
                    workers=workers, all_params=param_mode == "all",
                    status=(lambda s: click.echo(s, err=True)) if exhaustive and not as_json else None,
                )  # fmt: skip
    failed = [r for r in results if not r["ok"]]
    doc = {"exhaustive": exhaustive, "samples_per_dtype": None if exhaustive else n, "results": results}
    if as_json:
        echo_json(doc)
    else:
        rows = []
        for r in results:
            if "skipped" in r:
                head = [r["activation"], r["dtype"], r["op"], r.get("params", "-")]
                rows.append([*head, *["-"] * 7, r["skipped"]])
                continue
            worst = "-" if r["worst_x"] is None else repr(r["worst_x"])
            status = "ok" if r["ok"] else f"FAIL ({r['failures']} inputs)"
            if r["near_zero_inputs"]:
                status += f" ({r['near_zero_inputs']} near a zero: abs <= {r['abs_slack']:.1e})"
            rows.append(
                [r["activation"], r["dtype"], r["op"], r.get("params", "-"), f"{r['max_ulp']:.3g}",
                 f"{r['max_ulp_outside_slack']:.3g}", f"{r['bound_ulp']:g}", f"{r['max_abs']:.2e}",
                 f"{r['max_rel']:.2e}", worst, f"{r['mp_judged']}", status]
            )  # fmt: skip
        header = ["activation", "dtype", "op", "params", "max ULP", "outside slack", "bound", "max abs",
                  "max rel", "worst x", "mpmath", "status"]  # fmt: skip
        click.echo(table(rows, header))
    if output:
        write_or_print(output, json.dumps(jsonable(doc), indent=2) + "\n", printed=as_json)
    if failed:
        names_failed = sorted({f"{r['activation']} ({r['dtype']} {r['op']})" for r in failed})
        raise CLIError(
            f"{len(names_failed)} check(s) exceed their documented bound: {', '.join(names_failed)}", 1
        )


def _baseline_list(ctx, param, value: str | None) -> list[str] | None:
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
    "--policy", type=click.Choice(["out", "alloc", "both"]), default="out", show_default=True,
    help="Allocation policy, the same on every side: out = all write into preallocated arrays "
    "(PyTorch through its out= kernels); alloc = all allocate their result; both = one table each.",
)  # fmt: skip
@click.option(
    "--compile", "show_compile", is_flag=True,
    help="Also measure first use in fresh processes: cold-cache compile and warm-cache load per kernel.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON instead of the table.")
@click.option(
    "--output", type=click.Path(dir_okay=False, writable=True), help="Also write the JSON results here."
)
@click.option(
    "--compare", nargs=2, type=click.Path(exists=True, dir_okay=False), metavar="OLD.json NEW.json",
    help="Compare two saved runs instead of measuring.",
)  # fmt: skip
def bench(
    names, target, engine, workers, chunk, dtype, sizes, op, baselines, repeat, policy, show_compile, as_json,
    output, compare,
):  # fmt: skip
    """Time activations beside a memory copy of the same array and NumPy/PyTorch/numexpr.

    With no NAMES every registered activation is measured, forward, float32, 1e7 elements
    (1e8 with --target cuda: kernel time from CUDA events beside a device-to-device copy,
    plus end-to-end time with the host transfers).
    """
    if compare:
        try:
            old, new = (bench_mod.load(p) for p in compare)
        except (OSError, ValueError) as exc:
            raise CLIError(one_line(exc), 2) from None
        for path, doc in zip(compare, (old, new)):
            why = _bench_doc_problem(doc)
            if why:
                raise CLIError(f"{path} is not a complete fastact bench result: {why}", 2)
        rows, text = bench_mod.compare(old, new)
        if as_json:
            echo_json(rows)
        else:
            click.echo(text)
        return
    check_output(output, "--output")
    if engine == "dask":
        _bench_dask(names, workers, chunk, dtype, sizes, repeat, as_json, output)
        return
    activations = [get(n, target=target) for n in (names or REGISTRY.names())]
    ops = list(bench_mod.OPS) if op == "all" else [op]
    sizes = list(sizes) or [100_000_000 if target == "cuda" else 10_000_000]
    itemsize = 4 if dtype == "float32" else 8
    per_element = max(16 + 2 * itemsize, BENCH_ARRAYS * itemsize)  # drawing the inputs; the arrays
    check_memory(max(sizes) * per_element, "--size", f"benchmarking {max(sizes):,} elements")
    if target == "cuda":
        run = bench_cuda.run
        baselines = list(bench_cuda.BASELINES) if baselines is None else baselines
        if policy != "out":
            raise CLIError("--policy alloc/both is for the host targets (the CUDA bench preallocates)", 2)
    else:
        policies = ["out", "alloc"] if policy == "both" else [policy]
        run = functools.partial(bench_mod.run, target=target, policies=policies)
        baselines = list(bench_mod.BASELINES) if baselines is None else baselines
    tasks = len(activations) * len(ops) * len(sizes) * (2 if policy == "both" else 1)
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
        if show_compile:
            doc["first_use"] = bench_compile.run([a.name for a in activations], ops, dtype)
    if as_json:
        echo_json(doc)
    else:
        click.echo(bench_mod.render(doc, show_compile=show_compile))
        if show_compile:
            click.echo("\n" + bench_compile.render(doc["first_use"]))
    if output:
        write_or_print(output, json.dumps(jsonable(doc), indent=2) + "\n", printed=as_json)


def _bench_doc_problem(doc: dict) -> str | None:
    """What a saved bench result lacks for --compare (each result's keys and their types)."""
    results = doc.get("results")
    if not isinstance(results, list):
        return "no 'results' list"
    for i, r in enumerate(results):
        if not isinstance(r, dict):
            return f"result {i} is not an object"
        for key, kinds in (("activation", str), ("op", str), ("size", int), ("dtype", str),
                           ("ratio_to_copy", (int, float)), ("fastact", dict)):  # fmt: skip
            if not isinstance(r.get(key), kinds) or isinstance(r.get(key), bool):
                return f"result {i} has no valid {key!r}"
        median = r["fastact"].get("median_s")
        if not isinstance(median, (int, float)) or isinstance(median, bool) or not median > 0:
            return f"result {i} has no valid fastact median_s"
    return None


def _positive_ints(text: str, usage: str) -> list[int]:
    """A comma-separated list of positive integers (``64,64``), or a usage error (exit 2)."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise CLIError(f"{usage}, not {text!r}", 2)
    return values


def _bench_dask(names, workers, chunk, dtype, sizes, repeat, as_json, output) -> None:
    try:
        import dask.array  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise CLIError("--engine dask needs dask and distributed: pip install 'fastact[dask]'", 1) from None
    counts = _positive_ints(workers, "--workers takes positive worker counts like 1,2")
    acts = [get(n) for n in (names or ["relu", "gelu", "silu"])]
    if any(a.spec.kind != "elementwise" for a in acts):
        raise CLIError("--engine dask measures elementwise activations", 2)
    doc = bench_dask.run(acts, dtype=dtype, size=(list(sizes) or [1_000_000_000])[0], chunk=chunk,
                         workers=counts, repeat=repeat)  # fmt: skip
    click.echo(json.dumps(jsonable(doc), indent=2) if as_json else bench_dask.render(doc))
    if output:
        write_or_print(output, json.dumps(jsonable(doc), indent=2) + "\n", printed=as_json)


@main.group("cache")
def cache_group() -> None:
    """The kernel cache on disk: where it is, what it holds, clearing it."""


@cache_group.command("info")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def cache_info(as_json: bool) -> None:
    """Every candidate cache directory: status (writable, read-only, refused...), kernels, bytes."""
    data = cache.info()
    if as_json:
        echo_json(data)
        return
    rows = [[d["status"], d["origin"], d["path"], str(d["kernels"]), str(d["files"]), _bytes(d["bytes"]),
             d["reason"]] for d in data]  # fmt: skip
    click.echo(table(rows, ["status", "origin", "path", "kernels", "files", "size", "note"]))
    usable = [d for d in data if d["status"] in ("writable", "read-only", "missing")]
    writer = next((d for d in usable if d["status"] in ("writable", "missing")), None)
    where = writer["path"] if writer else "nowhere: kernels compile in memory"
    click.echo(f"new kernels go to {where}", err=True)


@cache_group.command("clear")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def cache_clear(as_json: bool) -> None:
    """Delete fastact's kernels (and Numba's files for them) from every writable cache directory."""
    data = cache.clear()
    if as_json:
        echo_json(data)
        return
    for d in data:
        if d["status"] == "writable":
            click.echo(f"removed {d['removed']} file(s), {_bytes(d['bytes'])}, from {d['path']}")
        elif d["status"] in ("read-only", "refused"):
            click.echo(f"left {d['path']} alone ({d['status']}{': ' + d['reason'] if d['reason'] else ''})")


if __name__ == "__main__":  # pragma: no cover
    main()
