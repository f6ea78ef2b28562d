"""Tests of the benchmark harness: work counts, ratios and targets, and a `--quick` run's table.

No timing assertions: the only run is a smoke run whose table must be well formed.
"""

import importlib.util
import json
import pathlib
import sys

import pytest

_PATH = pathlib.Path(__file__).resolve().parents[1] / "scripts" / "benchmark.py"
_SPEC = importlib.util.spec_from_file_location("benchmark", _PATH)
benchmark = sys.modules["benchmark"] = importlib.util.module_from_spec(_SPEC)  # dataclasses look it up
_SPEC.loader.exec_module(benchmark)


def _tables(text: str) -> list[list[list[str]]]:
    """Splits markdown into tables, each a list of rows of stripped cells."""
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            assert line.endswith("|"), line
            current.append([cell.strip() for cell in line[1:-1].split("|")])
        elif current:
            tables.append(current)
            current = []
    return tables


def _check_well_formed(table: list[list[str]]) -> None:
    header, rule, *rows = table
    assert all(set(cell) <= set("-:") and cell for cell in rule), rule
    assert len(rule) == len(header)
    assert rows
    for row in rows:
        assert len(row) == len(header), row


@pytest.mark.parametrize("sizes, samples, expected", [
    ((784, 500, 10), 1, 2 * (2 * (784 * 500 + 500 * 10) + 500 * 10)),  # 1.598 MFLOP
    ((784, 500, 10), 300_000, 1_598_000 * 300_000),  # the course's 5 epochs: 0.479 TFLOP
    ((2, 3), 5, 5 * 2 * 2 * 6),  # one layer: no input gradient
    ((20, 128, 256, 4), 1, 2 * (2 * (2560 + 32768 + 1024) + 32768 + 1024)),
])
def test_dense_train_flops(sizes, samples, expected):
    assert benchmark.dense_train_flops(sizes, samples) == expected


@pytest.mark.parametrize("sizes", [(784,), (), (784, 0, 10)])
def test_dense_train_flops_bad_sizes(sizes):
    with pytest.raises(ValueError, match=r"Invalid value for `layer_sizes`: expected at least two positive "
                                         r"widths\. Received: layer_sizes="):
        benchmark.dense_train_flops(sizes, 1)


def _row(workload, variant, seconds, accuracy):
    return {"workload": workload, "group": "main", "variant": variant, "seconds": seconds,
            "all_seconds": [seconds], "samples_per_s": 1000 / seconds, "peak_mib": 100.0, "accuracy": accuracy}


def _report(results, gflops=100.0):
    workloads = {name: {"name": name, "data": "phone" if name == "phone" else "mnist",
                        "hidden_units": [128, 256] if name == "phone" else [500], "optimizer": "adam",
                        "learning_rate": 0.01, "batch_size": 8, "epochs": 5, "rows": 1, "trials": 0,
                        "group": "main"} for name in ("phone", "mnist")}
    meta = {"date": "today", "machine": "test", "python": "3", "versions": {"keras": "3"}, "repeats": 1,
            "quick": False, "seed": 0, "load_start": "0", "load_end": "0", "matmul_gflops": gflops,
            "total_seconds": 1.0}
    data = {"phone": {"source": "s", "train_rows": 1280, "test_rows": 320, "features": 20, "classes": 4},
            "mnist": {"source": "s", "train_rows": 60000, "test_rows": 10000, "features": 784, "classes": 10}}
    return {"meta": meta, "data": data, "workloads": workloads, "results": results}


def test_targets_are_ratios_of_the_same_run():
    report = _report([
        _row("phone", "kerasopt", 2.0, 0.90), _row("phone", "keras-fit", 5.0, 0.905),
        _row("phone", "kerasopt-jax", 1.5, 0.89), _row("phone", "pytorch", 3.0, 0.91),
        _row("mnist", "kerasopt", 12.0, 0.97), _row("mnist", "kerasopt-jax", 9.0, 0.975),
        _row("mnist", "keras-fit", 20.0, 0.975),
    ])
    floor = 1_598_000 * 300_000 / 100e9  # 4.794 s at 100 GFLOP/s
    assert benchmark.mnist_floor(report) == pytest.approx(floor)
    got = {t["target"]: t for t in benchmark.targets(report)}
    assert got["phone: kerasopt / plain Keras fit"]["value"] == pytest.approx(0.4)
    assert got["phone: kerasopt / plain Keras fit"]["met"] is True
    fastest = got["phone: fastest kerasopt backend / PyTorch"]
    assert fastest["value"] == pytest.approx(0.5) and "kerasopt-jax" in fastest["detail"]
    mnist = got["MNIST: fastest kerasopt backend / matrix-work floor"]
    assert mnist["value"] == pytest.approx(9.0 / floor) and mnist["met"] is False
    accuracy = got["phone accuracy: largest difference, kerasopt against another variant (points)"]
    assert accuracy["value"] == pytest.approx(2.0) and accuracy["met"] is False  # 0.91 - 0.89
    assert accuracy["detail"] == "kerasopt-jax against pytorch"
    accuracy = got["mnist accuracy: largest difference, kerasopt against another variant (points)"]
    assert accuracy["value"] == pytest.approx(0.5) and accuracy["met"] is True  # 0.975 - 0.97

    text = benchmark.markdown(report)
    results, target_table = _tables(text)
    _check_well_formed(results)
    _check_well_formed(target_table)
    by_variant = {(r[0], r[1]): r for r in results[2:]}
    assert by_variant[("phone", "kerasopt")][-2:] == ["0.40", "0.67"]  # vs plain Keras, vs PyTorch
    assert by_variant[("phone", "keras-fit")][-2] == "1.00"
    assert by_variant[("mnist", "kerasopt")][-1] == "–"  # no PyTorch row for MNIST


def test_missing_targets_are_reported_not_measured():
    report = _report([_row("phone", "kerasopt", 2.0, 0.9)])
    met = {t["target"]: t["met"] for t in benchmark.targets(report)}
    assert met["phone: kerasopt / plain Keras fit"] is None
    assert "| not measured |" in benchmark.markdown(report)


@pytest.mark.slow  # runs every variant; the report and markdown functions are tested above
def test_quick_run_writes_a_well_formed_table(tmp_path, monkeypatch, capsys):
    # PyTorch counts as missing here, so the table must show the skip instead of a measurement.
    real = benchmark._missing_package
    monkeypatch.setattr(benchmark, "_missing_package", lambda v: "torch" if v == "pytorch" else real(v))
    out = tmp_path / "bench.md"
    code = benchmark.main(["--quick", "--workloads", "phone", "--variants", "kerasopt", "keras-fit", "pytorch",
                           "--out", str(out), "--json", str(tmp_path / "bench.json")])
    assert code == 0
    text = out.read_text()
    assert text in capsys.readouterr().out
    assert "Quick smoke run" in text
    results, target_table = _tables(text)
    for table in (results, target_table):
        _check_well_formed(table)
    rows = {r[1]: r for r in results[2:]}
    assert sorted(rows) == ["keras-fit", "kerasopt", "pytorch"]
    assert rows["pytorch"][2] == "skipped: torch not installed"
    for variant in ("kerasopt", "keras-fit"):
        seconds, first, samples, memory, accuracy = (float(v.replace(",", "")) for v in rows[variant][2:7])
        assert seconds > 0 and first > 0 and samples > 0 and memory > 0
        assert 0 <= accuracy <= 1
    assert rows["keras-fit"][8] == "1.00"
    raw = json.loads((tmp_path / "bench.json").read_text())
    assert raw["meta"]["quick"] is True and len(raw["results"]) == 3


def test_existing_output_is_kept(tmp_path, capsys):
    out = tmp_path / "bench.md"
    out.write_text("earlier")
    assert benchmark.main(["--quick", "--json", str(tmp_path / "new.json"), "--out", str(out)]) == 1
    assert not (tmp_path / "new.json").exists()
    assert out.read_text() == "earlier"
    assert capsys.readouterr().err == (f"benchmark: error: {out} already exists. Choose another --out, or pass "
                                       "--overwrite to replace it.\n")


@pytest.mark.parametrize("argv", [["--workloads", "imagenet"], ["--variants", "sklearn"], ["--backend", "torch"]])
def test_bad_arguments_are_one_line(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        benchmark.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("benchmark: error: argument ") and err.count("\n") == 1


def test_bad_repeats():
    with pytest.raises(ValueError, match=r"Invalid value for `repeats`.*Received: repeats=0"):
        benchmark.run_benchmark(["phone"], ["kerasopt"], repeats=0)


# The fast path that the benchmark measures: `train`'s input pipeline on TensorFlow.
