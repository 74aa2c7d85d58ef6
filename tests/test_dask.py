"""fastact on Dask arrays: lazy, same chunks and dtype, equal to the in-memory result; axis-wise
along single and chunked axes; a real LocalCluster with two worker processes."""

import numpy as np
import pytest

import fastact as fa

da = pytest.importorskip("dask.array")

ELEMENTWISE = fa.names("elementwise")


def chunked(shape=(40, 30), chunks=(15, 10), dtype=np.float32, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype) * 3
    return x, da.from_array(x, chunks=chunks)


def test_nothing_is_computed_until_asked():
    calls = []

    def source(block):
        if block.size:  # dask probes functions with empty "meta" arrays to learn the output type
            calls.append(1)
        return block

    x = da.map_blocks(source, da.ones((20, 20), chunks=10, dtype=np.float32), dtype=np.float32)
    y = fa.gelu.backward(fa.silu(x), x)
    z = fa.softmax(y, axis=1)
    assert calls == [] and isinstance(z, da.Array)
    z.compute()
    assert calls


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_every_elementwise_activation_equals_the_in_memory_result(name):
    act = fa.get(name)
    x, dx = chunked()
    if name in ("logit", "log1mexp"):  # stay inside the domain (NaN compares unequal in assert)
        x, dx = np.abs(x) / 10 + 0.01, da.from_array(np.abs(x) / 10 + 0.01, chunks=(15, 10))
    g, dg = chunked(seed=1)
    for op, lazy, eager in (
        ("forward", act(dx), act(x)),
        ("grad", act.grad(dx), act.grad(x)),
        ("backward", act.backward(dx, dg), act.backward(x, g)),
    ):
        assert lazy.chunks == dx.chunks and lazy.dtype == eager.dtype, op
        np.testing.assert_array_equal(lazy.compute(), eager, err_msg=f"{name} {op}")


def test_parameters_broadcast_across_chunks():
    x, dx = chunked((4, 6, 8), chunks=(2, 3, 4))
    w = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], np.float32)[:, None]  # per channel (axis 1)
    np.testing.assert_array_equal(fa.prelu(dx, w).compute(), fa.prelu(x, w))
    np.testing.assert_array_equal(
        fa.elu.backward(dx, dx, alpha=0.5).compute(), fa.elu.backward(x, x, alpha=0.5)
    )
    with pytest.raises(fa.ParameterError, match="outside"):
        fa.softplus(dx, beta=0.0)  # checked eagerly, not at compute time
    assert fa.gelu(da.from_array(np.arange(6), chunks=3)).dtype == np.float64


@pytest.mark.parametrize("name", fa.names("axis"))
def test_axis_wise_along_a_single_chunk_axis(name):
    act = fa.get(name)
    x, dx = chunked((12, 16), chunks=(5, 16))
    y = act(dx, axis=1)
    np.testing.assert_array_equal(y.compute(), act(x, axis=1))
    g = np.random.default_rng(2).standard_normal(act(x, axis=1).shape).astype(np.float32)
    np.testing.assert_array_equal(
        act.backward(dx, da.from_array(g), axis=1).compute(), act.backward(x, g, axis=1)
    )


@pytest.mark.parametrize("name", ["softmax", "softmin", "log_softmax", "logsumexp", "logmeanexp"])
def test_softmax_family_along_a_chunked_axis(name):
    act = fa.get(name)
    x, dx = chunked((12, 40), chunks=(5, 9), dtype=np.float64)
    np.testing.assert_allclose(act(dx, axis=1).compute(), act(x, axis=1), rtol=1e-13, atol=1e-15)
    if name in ("logsumexp", "logmeanexp"):
        assert act(dx, axis=1, keepdims=True).shape == (12, 1)
    g = np.random.default_rng(3).standard_normal(act(x, axis=1).shape)
    np.testing.assert_allclose(
        act.backward(dx, da.from_array(g), axis=1).compute(),
        act.backward(x, g, axis=1),
        rtol=1e-12,
        atol=1e-14,
    )


def test_activation_objects_pickle_by_name():
    import pickle

    for act in (fa.gelu, fa.softmax, fa.get("silu", target="parallel", threads=2)):
        assert pickle.loads(pickle.dumps(act)) is act


def test_other_axis_wise_need_a_single_chunk():
    x, dx = chunked((12, 40), chunks=(5, 9))
    with pytest.raises(fa.ShapeMismatchError, match=r"rechunk it into one first, x.rechunk\(\{1: -1\}\)"):
        fa.standardize(dx, axis=1)
    with pytest.raises(fa.ShapeMismatchError, match="odd"):
        fa.swiglu(da.ones((4, 5), chunks=2), axis=1)


def test_local_cluster_with_two_worker_processes(tmp_path):
    distributed = pytest.importorskip("distributed")
    x, dx = chunked((64, 32), chunks=(16, 32))
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        local_directory=str(tmp_path), silence_logs=50,
    ) as cluster, distributed.Client(cluster, timeout="60s") as client:  # fmt: skip
        y = fa.gelu(dx)
        b = fa.gelu.backward(dx, y)
        s = fa.softmax(dx, axis=1)
        got_y, got_b, got_s = client.compute([y, b, s], sync=True)
        workers = client.run(lambda: __import__("os").getpid())
    assert len(set(workers.values())) == 2
    np.testing.assert_array_equal(got_y, fa.gelu(x))
    np.testing.assert_array_equal(got_b, fa.gelu.backward(x, fa.gelu(x)))
    np.testing.assert_array_equal(got_s, fa.softmax(x, axis=1))


def test_bench_engine_dask_runs_and_reports_scaling():
    pytest.importorskip("distributed")
    import json

    from click.testing import CliRunner

    from fastact.tools.cli import main

    args = ["bench", "relu", "--engine", "dask", "--workers", "1", "--size", "2e6", "--chunk", "1e6",
            "--repeat", "1", "--json"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)["results"]
    assert row["workers"] == 1 and row["scaling"] == 1.0 and row["vs_numpy"] > 0
    bad = CliRunner().invoke(main, ["bench", "--engine", "dask", "--workers", "0"])
    assert bad.exit_code == 2 and "--workers" in bad.stderr
