"""Regression tests for the NumPy ufunc contract (issue 13): each defect found, one test.

The property-based differential suite (tests/test_contract.py) covers the same ground by
drawing layouts; these pin the exact cases that crashed or returned wrong numbers.
"""

import pickle
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import fastact as fa
from fastact import _threads as fastact_threads
from fastact import activation as act_mod
from fastact import axis as axis_mod

X = np.linspace(-3, 3, 1000)


def _fresh(fn, *arrays, **kw):
    """What the call gives on fresh C-contiguous native copies of its operands."""
    return fn(*(np.ascontiguousarray(a).astype(np.asarray(a).dtype.newbyteorder("=")) for a in arrays), **kw)


# -- 1. strided out= -------------------------------------------------------------------------


def test_reversed_out_is_written_correctly_in_a_subprocess():
    # segfaulted before: keep it out of the test process
    code = textwrap.dedent(
        """
        import numpy as np, fastact as fa
        x = np.linspace(-3, 3, 1000)
        out = np.empty(1000)[::-1]
        fa.sigmoid(x, out=out)
        assert np.array_equal(out, fa.sigmoid(x)), "wrong values"
        print("ok")
        """
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and "ok" in run.stdout, run.stderr


@pytest.mark.parametrize("op", ["forward", "grad", "backward"])
def test_stepped_out_writes_only_its_elements(op):
    buf = np.full(2001, 7.0)
    out = buf[::2][:1000]
    act = fa.get("gelu")
    call = {"forward": act, "grad": act.grad, "backward": lambda x, **k: act.backward(x, x, **k)}[op]
    assert call(X, out=out) is out
    assert np.array_equal(out, call(X))
    assert np.all(buf[1::2] == 7.0) and buf[-1] == 7.0


def test_strided_inputs_and_out_together():
    x = np.linspace(-4, 4, 60).reshape(6, 10)
    out = np.zeros((10, 6)).T  # F-ordered out
    fa.silu(x, out=out)
    assert np.array_equal(out, fa.silu(x.copy()))


# -- 2. overlapping memory -------------------------------------------------------------------


@pytest.mark.parametrize("shift", [1, -1])
@pytest.mark.parametrize("target", ["cpu", "parallel"])
def test_overlapping_out_is_as_if_through_a_temporary(shift, target, monkeypatch):
    monkeypatch.setattr(act_mod, "PARALLEL_MIN_SIZE", 64)
    act = fa.get("sigmoid", target=target, threads=2)
    b = np.linspace(-4, 4, 4097)
    src, dst = (b[:-1], b[1:]) if shift == 1 else (b[1:], b[:-1])
    expected = act(src.copy())
    act(src, out=dst)
    assert np.array_equal(dst, expected)


@pytest.mark.parametrize("shift", [1, -1])
def test_backward_out_overlapping_grad_out(shift):
    act = fa.get("tanh")
    x = np.linspace(-2, 2, 16)
    b = np.linspace(-1, 1, 17)
    g, dst = (b[:-1], b[1:]) if shift == 1 else (b[1:], b[:-1])
    expected = act.backward(x, g.copy())
    act.backward(x, g, out=dst)
    assert np.array_equal(dst, expected)


def test_exact_in_place_stays_in_place():
    x = X.copy()
    expected = fa.relu(X)
    assert fa.relu(x, out=x) is x
    assert np.array_equal(x, expected)


# -- 3. axis-wise in place -------------------------------------------------------------------

AXIS_NAMES = ["softmax", "log_softmax", "softmin", "sparsemax", "standardize"]


@pytest.mark.parametrize("name", AXIS_NAMES)
@pytest.mark.parametrize("axis", [-1, 0])
def test_axiswise_forward_in_place(name, axis):
    act = fa.get(name)
    x = np.random.default_rng(1).normal(size=(9, 37)) * 4
    expected = act(x.copy(), axis=axis)
    y = x.copy()
    assert act(y, axis=axis, out=y) is y
    assert np.array_equal(y, expected)


@pytest.mark.parametrize("name", AXIS_NAMES)
@pytest.mark.parametrize("into", ["g", "x"])
def test_axiswise_backward_in_place(name, into):
    act = fa.get(name)
    rng = np.random.default_rng(2)
    x, g = rng.normal(size=(2, 9, 37))
    expected = act.backward(x, g)
    x2, g2 = x.copy(), g.copy()
    target = g2 if into == "g" else x2
    act.backward(x2, g2, out=target)
    assert np.array_equal(target, expected)


def test_axiswise_in_place_in_blocks_of_rows(monkeypatch):
    monkeypatch.setattr(axis_mod, "IN_PLACE_BLOCK", 100)  # 3 rows of 37 at a time
    x = np.random.default_rng(3).normal(size=(10, 37))
    expected = fa.log_softmax(x)
    fa.log_softmax(x, out=x)
    assert np.array_equal(x, expected)


def test_axiswise_row_shifted_out():
    buf = np.random.default_rng(4).normal(size=(11, 8))
    expected = fa.log_softmax(buf[:-1].copy())
    fa.log_softmax(buf[:-1], out=buf[1:])
    assert np.array_equal(buf[1:], expected)


# -- 4. read-only inputs ---------------------------------------------------------------------


def test_read_only_inputs(tmp_path):
    ro = X.copy()
    ro.flags.writeable = False
    np.save(tmp_path / "x.npy", X)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    fb = np.frombuffer(X.tobytes(), dtype=np.float64)
    for arr in (ro, mm, fb):
        assert np.array_equal(fa.gelu(arr), fa.gelu(X))
        assert np.array_equal(fa.gelu.backward(arr, arr), fa.gelu.backward(X, X))
        assert np.array_equal(fa.softmax(arr.reshape(10, 100)), fa.softmax(X.reshape(10, 100)))


def test_read_only_out_is_refused():
    out = np.empty_like(X)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        fa.relu(X, out=out)


# -- 5. byte order ---------------------------------------------------------------------------


@pytest.mark.parametrize("order", [">", "<"])
def test_non_native_byte_order(order):
    x = np.arange(-3.0, 3.0).astype(order + "f8")
    r = fa.relu(x)
    assert r.dtype.isnative and np.array_equal(r, np.maximum(x, 0))
    s = fa.softmax(x.astype(order + "f4"))
    assert s.dtype == np.float32 and np.array_equal(s, fa.softmax(np.arange(-3.0, 3.0, dtype=np.float32)))
    out = np.empty(6, dtype=order + "f8")
    fa.gelu(x, out=out)
    assert np.array_equal(out, fa.gelu(np.arange(-3.0, 3.0)))


# -- 6. thread safety of the registry (a fresh process: the registry must be unloaded) -------


def test_first_lookups_from_many_threads_in_a_fresh_process():
    code = textwrap.dedent(
        """
        import threading, numpy as np, fastact as fa
        barrier = threading.Barrier(8)
        errors, results = [], []
        def work():
            barrier.wait()
            try:
                results.append(fa.get("relu")(np.array([-1.0, 2.0])).tolist())
            except BaseException as exc:
                errors.append(repr(exc))
        threads = [threading.Thread(target=work) for _ in range(8)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert not errors, errors
        assert results == [[0.0, 2.0]] * 8, results
        print("ok")
        """
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and "ok" in run.stdout, run.stderr + run.stdout


# -- 7. parallel target: one bounded pool, nested calls inline -------------------------------


def test_parallel_nested_call_from_a_pool_thread_does_not_deadlock(monkeypatch):
    monkeypatch.setattr(act_mod, "PARALLEL_MIN_SIZE", 64)
    monkeypatch.setattr(axis_mod, "PARALLEL_MIN_SIZE", 64)
    act = fa.get("gelu", target="parallel", threads=4)
    sm = fa.get("softmax", target="parallel", threads=4)
    pool = fastact_threads.pool()
    futures = [pool.submit(act, X) for _ in range(8)] + [pool.submit(sm, X.reshape(50, 20))]
    results = [f.result(timeout=120) for f in futures]
    assert all(np.array_equal(r, fa.gelu(X)) for r in results[:-1])
    assert np.array_equal(results[-1], fa.softmax(X.reshape(50, 20)))


def test_parallel_thread_counts_share_one_bounded_pool(monkeypatch):
    monkeypatch.setattr(act_mod, "PARALLEL_MIN_SIZE", 64)
    before = threading.active_count()
    for threads in range(3, 40):
        assert np.array_equal(fa.get("relu", target="parallel", threads=threads)(X), fa.relu(X))
    assert threading.active_count() - before <= max(2, act_mod.default_threads())


# -- 8. Dask agrees with memory on special rows ---------------------------------------------

SPECIAL_ROWS = np.array(
    [
        [1.0, np.inf, 2.0, np.inf],
        [-np.inf] * 4,
        [np.nan, 1.0, np.inf, 2.0],
        [-np.inf, 1.0, -np.inf, 2.0],
        [0.0, 1.0, 2.0, 3.0],
        [np.inf] * 4,
    ]
)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin", "logsumexp", "logmeanexp"])
def test_dask_chunked_axis_agrees_on_special_rows(name):
    da = pytest.importorskip("dask.array")
    act = fa.get(name)
    expected = act(SPECIAL_ROWS)
    got = act(da.from_array(SPECIAL_ROWS, chunks=(3, 2))).compute()
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=0)
    assert np.array_equal(np.isnan(got), np.isnan(expected))


# -- 9. compositions pickle and run on Dask --------------------------------------------------


def test_compositions_pickle_and_run_on_dask():
    da = pytest.importorskip("dask.array")
    for act in (fa.get("x*tanh.softplus"), fa.compose("tanh", "softplus", times_x=True, name="my_mish")):
        clone = pickle.loads(pickle.dumps(act))
        assert clone.name == act.name and np.array_equal(clone(X), act(X))
        lazy = act(da.from_array(X, chunks=300))
        assert np.array_equal(lazy.compute(scheduler="sync"), act(X))
        assert np.array_equal(pickle.loads(pickle.dumps(lazy)).compute(scheduler="sync"), act(X))


# -- 10. masked arrays and np.matrix ---------------------------------------------------------


def test_masked_arrays_keep_their_mask():
    m = np.ma.masked_array([-1.0, 2.0, 3.0], mask=[False, True, False])
    r = fa.relu(m)
    assert isinstance(r, np.ma.MaskedArray)
    assert np.array_equal(r.mask, m.mask) and r[0] == 0.0 and r[2] == 3.0
    g = np.ma.masked_array([1.0, 1.0, 1.0], mask=[True, False, False])
    b = fa.relu.backward(m, g)
    assert b.mask.tolist() == [True, True, False] and b[2] == 1.0
    out = np.ma.masked_array(np.zeros(3))
    assert fa.relu(m, out=out) is out and out.mask.tolist() == [False, True, False] and out[2] == 3.0
    with pytest.raises(fa.DTypeError, match="masked"):
        fa.softmax(m)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_matrix_out():
    out = np.asmatrix(np.zeros((1, 5)))
    x = np.linspace(-1, 1, 5).reshape(1, 5)
    fa.gelu(x, out=out)
    assert np.array_equal(np.asarray(out), fa.gelu(x))


# -- 11. parameters given as arrays are validated ------------------------------------------


def test_array_parameters_are_checked_against_each_other():
    with pytest.raises(fa.ParameterError, match="min_val"):
        fa.hard_tanh(X, np.array([1.0]), np.array([-1.0]))
    with pytest.raises(fa.ParameterError, match="lower"):
        fa.rrelu(X[:3], np.array([0.1, 0.5, 0.2]), 0.3)
    ok = fa.hard_tanh(X[:3], np.array([-1.0, -2.0, -0.5]), 1.0)  # every pair valid
    assert ok.shape == (3,)


def test_softplus_infinite_beta_is_rejected():
    with pytest.raises(fa.ParameterError, match="beta"):
        fa.softplus(0.0, beta=np.inf)


# -- 12. bounded scratch memory in the row kernels -----------------------------------------


def test_logsumexp_of_a_long_row_uses_bounded_scratch():
    # a 128 MiB row; before, the kernel allocated a second one as scratch (Numba allocates
    # outside tracemalloc's view, so the peak resident size of a fresh process is measured)
    code = textwrap.dedent(
        """
        import resource, numpy as np, fastact as fa
        fa.logsumexp(np.zeros((2, 8)))
        x = np.random.default_rng(5).normal(size=(1, 1 << 24))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        value = fa.logsumexp(x)[0]
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        ref = np.log(np.exp(x).sum())
        assert abs(value - ref) <= 8 * np.spacing(ref), (value, ref)
        print(grown)
        """
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    grown_kib = int(run.stdout.split()[-1])
    assert grown_kib < 32 * 1024, f"logsumexp of a 128 MiB row grew the process by {grown_kib} KiB"
