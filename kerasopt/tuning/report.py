"""What a search leaves for people to read: trials.csv, trials.png, progress lines, summary.

"Influence" of a hyperparameter is the share of the score variance it
explains across completed trials: the squared correlation of score and value
(on a log scale for positive values that span more than a decade) for
numbers, the between-group share of variance (eta squared) for choices.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any, TextIO

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from kerasopt import _io
from kerasopt._terminal import TerminalLine, clock
from kerasopt.signals import higher_is_better

__all__ = ["EXTRA_SCORES", "MIN_TRIALS_FOR_INFLUENCE", "RESULT_METRICS", "active_values", "trials_frame",
           "influence", "influence_note", "plot_trials", "write_trials", "ranked", "summary_table", "progress_line",
           "StatusLine"]

#: What a trial reports besides its scores (trials.csv columns after `score`, progress lines, TensorBoard).
RESULT_METRICS = ("best_epoch", "epochs_run", "seconds")
#: Scores a regression trial reports besides its objective (trials.csv columns, progress lines).
EXTRA_SCORES = ("val_rmse", "val_r2")
#: Fewest completed trials for the influence panel: below it a share of variance says nothing.
MIN_TRIALS_FOR_INFLUENCE = 5


def active_values(hp) -> dict[str, Any]:
    """Returns the hyperparameter values a trial actually used (inactive ones left out)."""
    out = {h.name: hp.values[h.name] for h in hp.space if hp.is_active(h) and h.name in hp.values}
    # Hyperband's tuner/epochs etc. are not in the space
    out.update({k: v for k, v in hp.values.items() if k.startswith("tuner/") and k != "tuner/trial_id"})
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in out.items()}  # plain Python


def trials_frame(oracle, objective: str) -> pd.DataFrame:
    """Returns one row per trial: id, status, hyperparameters used, score, best epoch, epochs, seconds."""
    rows = []
    for trial_id in sorted(oracle.trials):
        trial = oracle.trials[trial_id]
        row: dict[str, Any] = {"trial_id": trial_id, "status": trial.status}
        row.update(active_values(trial.hyperparameters))
        metrics = trial.metrics
        row["score"] = metrics.get_last_value(objective) if metrics.exists(objective) else np.nan
        for name in EXTRA_SCORES:
            if metrics.exists(name):
                row[name] = metrics.get_last_value(name)
        for name in RESULT_METRICS:
            value = metrics.get_last_value(name) if metrics.exists(name) else np.nan
            row[name] = value if name == "seconds" or value is None or np.isnan(value) else int(value)
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=["trial_id", "status", "score", *RESULT_METRICS])
    order = {h.name: i for i, h in enumerate(oracle.get_space().space)}  # declaration order
    extra = [c for c in EXTRA_SCORES if c in frame.columns]
    hp_columns = [c for c in frame.columns if c not in ("trial_id", "status", "score", *RESULT_METRICS, *extra)]
    hp_columns.sort(key=lambda c: order.get(c, len(order)))
    return frame[["trial_id", "status", *hp_columns, "score", *extra, *RESULT_METRICS]]


def influence(frame: pd.DataFrame) -> pd.Series:
    """Returns the share of score variance each hyperparameter explains, largest first."""
    done = frame[frame["score"].notna()]
    scores = done["score"].to_numpy(dtype="float64")
    result = {}
    if len(done) < 3 or np.var(scores) == 0:
        return pd.Series(result, dtype="float64")
    for column in done.columns:
        if column in ("trial_id", "status", "score", *RESULT_METRICS, *EXTRA_SCORES) or column.startswith("tuner/"):
            continue
        values = done[column]
        present = values.notna().to_numpy()
        if present.sum() < 3:
            continue
        numeric = pd.to_numeric(values, errors="coerce")
        if numeric.notna().sum() == present.sum() and values[present].nunique() > 3 and \
                values[present].map(lambda v: not isinstance(v, bool)).all():
            v = numeric.to_numpy(dtype="float64")[present]
            if v.min() > 0 and v.max() / v.min() > 10:
                v = np.log10(v)
            s = scores[present]
            if np.std(v) == 0 or np.std(s) == 0:
                continue
            result[column] = float(np.corrcoef(v, s)[0, 1] ** 2)
        else:
            groups = values.fillna("(inactive)").astype(str)
            total = np.sum((scores - scores.mean()) ** 2)
            between = sum(len(g) * (g.mean() - scores.mean()) ** 2
                          for _, g in pd.Series(scores, index=done.index).groupby(groups.to_numpy()))
            result[column] = float(between / total) if total else 0.0
    return pd.Series(result, dtype="float64").sort_values(ascending=False)


def plot_trials(frame: pd.DataFrame, objective: str, top: int = 6, rows: int | None = None) -> Figure:
    """Returns a figure: scores by trial (with the running best) and the most influential hyperparameters.

    The x axis is the `trial_id` of trials.csv (integer ticks). The
    influence panel needs `MIN_TRIALS_FOR_INFLUENCE` completed trials with
    different scores; with fewer, the figure has the score panel only and
    its title says why.

    Args:
        frame: `trials_frame`.
        objective: The score's name.
        top: Hyperparameters shown in the influence panel.
        rows: For a score that moves in steps of one held-out row (accuracy):
            the number of held-out rows behind a score, which the y label
            states as the size of one step; `None` for a continuous score.
    """
    from matplotlib.ticker import MaxNLocator

    inf = influence(frame).head(top) if _completed(frame) >= MIN_TRIALS_FOR_INFLUENCE else pd.Series(dtype=float)
    figure = Figure(figsize=(11 if len(inf) else 6, 4), layout="constrained")
    axes = figure.subplots(1, 2 if len(inf) else 1)
    ax_score = axes[0] if len(inf) else axes
    done = frame[frame["score"].notna()]
    ids = pd.to_numeric(done["trial_id"], errors="coerce").to_numpy(dtype="float64")
    scores = done["score"].to_numpy(dtype="float64")
    ax_score.plot(ids, scores, "o", label=objective)
    if len(scores):
        best = np.maximum.accumulate(scores) if higher_is_better(objective) else np.minimum.accumulate(scores)
        ax_score.step(ids, best, where="post", label="best so far")
    ax_score.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_score.set_xlabel("trial_id (as in trials.csv)")
    step = f"\n(one step = 1 of {rows} held-out rows = {1 / rows:.4f})" if rows else ""
    ax_score.set_ylabel(objective + step)
    spread = f" (best and worst {round((scores.max() - scores.min()) * rows)} rows apart)" \
        if rows and len(scores) else ""
    ax_score.set_title("Score by trial" + spread)
    ax_score.legend()
    if len(inf):
        ax_inf = axes[1]
        ax_inf.barh(inf.index[::-1], inf.to_numpy()[::-1])
        ax_inf.set_xlim(0, 1)
        ax_inf.set_xlabel("share of score variance explained")
        ax_inf.set_title("Most influential hyperparameters")
    else:
        figure.suptitle(influence_note(frame), fontsize="small")
    return figure


def _completed(frame: pd.DataFrame) -> int:
    return int(frame["score"].notna().sum()) if "score" in frame else 0


def influence_note(frame: pd.DataFrame) -> str:
    """Returns why trials.png has no influence panel (too few trials), or `""` when it has one."""
    done = _completed(frame)
    if done >= MIN_TRIALS_FOR_INFLUENCE and len(influence(frame)):
        return ""
    return (f"no hyperparameter influence shown: {done} completed trial(s), it needs at least "
            f"{MIN_TRIALS_FOR_INFLUENCE} with different scores")


def write_trials(frame: pd.DataFrame, out_dir: str | os.PathLike, objective: str, rows: int | None = None) -> None:
    """Writes `trials.csv` and `trials.png` (see `plot_trials`) into `out_dir` atomically."""
    from kerasopt.plotting import save_figure

    _io.write_with(os.path.join(out_dir, "trials.csv"), lambda tmp: frame.to_csv(tmp, index=False))
    save_figure(plot_trials(frame, objective, rows=rows), os.path.join(out_dir, "trials.png"))


def _short(value) -> str:
    if isinstance(value, float):
        if value == 0:
            return "0"
        return f"{value:.2e}" if abs(value) < 1e-2 or abs(value) >= 1e4 else f"{value:.3g}"
    return str(value)


def progress_line(trial_id: str, objective: str, metrics: dict[str, float], values: dict[str, Any],
                  prefix: str = "") -> str:
    """Returns the one-line report of a finished trial."""
    shown = " ".join(f"{k}={_short(v)}" for k, v in values.items() if not k.startswith("tuner/"))
    scores = "".join(f" ({k.removeprefix('val_')} {metrics[k]:.4g})" for k in EXTRA_SCORES
                     if k in metrics and k != objective)
    return (f"{prefix}trial {trial_id}: {objective} {metrics[objective]:.4f}{scores}  best epoch "
            f"{int(metrics['best_epoch'])}/{int(metrics['epochs_run'])}  {metrics['seconds']:.1f} s  | {shown}")


def ranked(frame: pd.DataFrame, objective: str) -> pd.DataFrame:
    """Returns the trials best first by their `score` on `objective`: ties in their order, no score last.

    Args:
        frame: Trials with a `score` column (`trials_frame`, `trials.csv`).
        objective: The search objective the scores are of.

    Returns:
        The sorted `pandas.DataFrame`.
    """
    return frame.sort_values("score", ascending=not higher_is_better(objective), na_position="last", kind="stable")


def summary_table(frame: pd.DataFrame, objective: str, rows: int = 5) -> str:
    """Returns a text table of the best trials (`ranked`)."""
    done = frame[frame["score"].notna()]
    best = ranked(done, objective).head(rows)
    failed = int((frame["status"] != "COMPLETED").sum()) if len(frame) else 0
    head = (f"{len(done)} trial(s) completed" + (f", {failed} not completed" if failed else "")
            + f"; best {min(rows, len(done))} by {objective}:")
    if best.empty:
        return head
    columns = ["trial_id", "score", *[c for c in EXTRA_SCORES if c in best.columns and c != objective],
               *RESULT_METRICS]
    hp_columns = [c for c in best.columns if c not in (*columns, *EXTRA_SCORES, "status")
                  and not c.startswith("tuner/") and best[c].notna().any()]
    table = best[columns + hp_columns].copy()
    for c in table.columns:
        table[c] = table[c].map(lambda v: "-" if v is None or (isinstance(v, float) and math.isnan(v))
                                else f"{v:.4f}" if c == "score" or c in EXTRA_SCORES
                                else f"{v:.1f}" if c == "seconds" else _short(v))
    return head + "\n" + table.to_string(index=False)


def short_config(values: dict[str, Any]) -> str:
    """Returns a trial's configuration in a few words, e.g. `"128-64 elu, adam lr 3.00e-03, dropout 0.2"`.

    Args:
        values: The trial's hyperparameter values (`active_values`).
    """
    layers = int(values.get("num_layers", 0) or 0)
    units = [values.get(f"units_{i}", values.get("units")) for i in range(layers)]
    parts = ["-".join(str(u) for u in units) + (f" {values['activation']}" if "activation" in values else "")
             if layers else "linear"]
    if "optimizer" in values:
        parts.append(f"{values['optimizer']} lr {_short(values.get('learning_rate'))}")
    if values.get("dropout"):
        parts.append(f"dropout {_short(values['dropout'])}")
    return ", ".join(parts)


class StatusLine:
    """The live status line of a search on a terminal, rewritten in place.

    It shows `trial k/N, best <score> (<configuration>), <elapsed> elapsed,
    ~<left> left`; the time left is the mean trial time of this run times the
    trials left, bounded by the time budget. It writes nothing unless
    `stream` is a terminal, so logs stay clean.

    Args:
        total: Number of trials of the search (`max_trials`).
        objective: The objective's name; its direction is `kerasopt.signals.higher_is_better`'s.
        budget: The time budget in seconds, or `None`.
        stream: Where to write; default `sys.stderr` at the time of writing.
    """

    def __init__(self, total: int, objective: str, budget: float | None = None, stream: TextIO | None = None):
        self.total = int(total)
        self.objective = objective
        self.budget = budget
        self.stream = stream
        self.start = time.monotonic()
        self.maximize = higher_is_better(objective)
        self.best: tuple[float, dict] | None = None
        self.current = 0
        self._running = False
        self._durations: list[float] = []
        self._line = TerminalLine(stream)

    @property
    def active(self) -> bool:
        """Whether the stream is a terminal."""
        return self._line.active

    def text(self) -> str:
        """Returns the status text."""
        elapsed = time.monotonic() - self.start
        parts = [f"trial {self.current}/{self.total}"]
        if self.best is not None:
            parts.append(f"best {self.best[0]:.4f} ({short_config(self.best[1])})")
        parts.append(f"{clock(elapsed)} elapsed")
        if self._durations:
            to_run = self.total - self.current + (1 if self._running else 0)
            left = float(np.mean(self._durations)) * max(to_run, 0)
            if self.budget is not None:
                left = min(left, max(self.budget - elapsed, 0.0))
            parts.append(f"~{clock(left)} left")
        elif self.budget is not None:
            parts.append(f"budget {clock(self.budget)}")
        return ", ".join(parts)

    def show(self, text: str) -> None:
        """Writes `text` over the current line (on a terminal)."""
        self._line.show(text)

    def announce(self, text: str) -> None:
        """Writes `text` as a line of its own, over the status line (on a terminal)."""
        self._line.show(text)
        self._line.end()

    def clear(self) -> None:
        """Blanks the line, so that other output starts on a clean line."""
        self._line.clear()

    def trial_started(self, number: int) -> None:
        """Shows that trial `number` (counted from 1) is running."""
        self.current = int(number)
        self._running = True
        self.show(self.text())

    def trial_ended(self, score: float | None, values: dict, seconds: float | None) -> None:
        """Records a finished trial (`score` `None` when it failed) and shows the line."""
        self._running = False
        if seconds is not None:
            self._durations.append(float(seconds))
        if score is not None and (self.best is None or (score > self.best[0] if self.maximize
                                                        else score < self.best[0])):
            self.best = (float(score), dict(values))
        self.show(self.text())
