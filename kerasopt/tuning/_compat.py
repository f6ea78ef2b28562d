"""Every use of KerasTuner's private API in kerasopt, in one place, each with a test.

Tested with KerasTuner 1.4.8 (setup.cfg pins `keras-tuner>=1.4.7,<1.5`). Nothing else in kerasopt
imports `keras_tuner.src` or touches a private name of a KerasTuner object (a test checks this);
when KerasTuner changes, this module is the one to adapt. Each function names what it uses.
"""

from __future__ import annotations

import time

from kerasopt.errors import KerasoptError

__all__ = ["is_chief_oracle", "is_worker", "repair_oracle", "requeue_ongoing", "run_and_update_trial", "grid_continue",
           "grid_rebuild", "is_duplicate", "random_values", "bayesian_values", "serve"]

_FINISHED = ("COMPLETED", "FAILED")


def is_chief_oracle() -> bool:
    """Whether this process is the chief of a distributed search (serves the oracle)."""
    from keras_tuner.src.distribute import utils

    return bool(utils.is_chief_oracle())


def is_worker(tuner) -> bool:
    """Whether `tuner` asks a chief for its trials (its oracle is a client)."""
    return bool(tuner._is_worker())


def repair_oracle(oracle) -> None:
    """Makes a reloaded oracle rerun exactly the trials that did not finish.

    A trial whose `trial.json` says it finished is never queued again, and a
    trial left RUNNING by a killed process is queued to run again.
    """
    queue = [t for t in oracle._retry_queue if oracle.trials[t].status not in _FINISHED]
    ongoing = {t.trial_id for t in oracle.ongoing_trials.values()}
    for trial_id, trial in oracle.trials.items():
        if trial.status == "RUNNING" and trial_id not in queue and trial_id not in ongoing:
            queue.append(trial_id)
    oracle._retry_queue = queue
    oracle.ongoing_trials = {k: t for k, t in oracle.ongoing_trials.items() if t.status not in _FINISHED}


def requeue_ongoing(oracle) -> None:
    """Queues every ongoing trial to run again, lowest id first, and forgets which tuner had it.

    For a search that one process runs: a trial left RUNNING by a killed run
    is handed to whichever tuner id (a population's slot) asks next.
    """
    ongoing = sorted({t.trial_id for t in oracle.ongoing_trials.values()} - set(oracle._retry_queue))
    oracle._retry_queue = [*oracle._retry_queue, *reversed(ongoing)]  # `create_trial` pops from the end
    oracle.ongoing_trials = {}


def run_and_update_trial(tuner, trial, *fit_args, **fit_kwargs) -> None:
    """Runs `trial` with `tuner.run_trial` and reports it to the oracle (or marks it failed), as `search` does."""
    tuner._try_run_and_update_trial(trial, *fit_args, **fit_kwargs)


def grid_continue(oracle, trial_id: str) -> None:
    """Lets a `GridSearchOracle` propose the combination after `trial_id` before that trial ends.

    KerasTuner's grid oracle derives a new combination from a finished
    trial's (and from the first trial's at once), so with several trials
    running it hands out one new trial per finished one; queuing every new
    trial lets it hand out the grid in the same order without waiting.
    """
    oracle._populate_next.append(trial_id)


def grid_rebuild(oracle) -> None:
    """Rebuilds a reloaded `GridSearchOracle`'s walk of the grid, which KerasTuner keeps only in memory.

    The trials are put back in grid order (`_ordered_ids`) and each queued to continue from
    (`_populate_next`): the oracle then hands out exactly the combinations not tried yet.
    """
    import functools

    from keras_tuner.src.tuners.gridsearch import LinkedList

    def compare(a, b):
        return oracle._compare(oracle.trials[a].hyperparameters.values, oracle.trials[b].hyperparameters.values)

    ids = sorted((t for t in oracle.trials if oracle.trials[t].hyperparameters.values),
                 key=functools.cmp_to_key(compare))
    ordered = LinkedList()
    for trial_id in ids:
        ordered.insert(trial_id)
    oracle._ordered_ids = ordered
    oracle._populate_next = list(ids)


def is_duplicate(oracle, values: dict) -> bool:
    """Whether `values` were already tried by `oracle`."""
    return bool(oracle._duplicate(values))


def random_values(oracle) -> dict:
    """A random-sampling response of `oracle` (`{"status": ..., "values": ...}`)."""
    return oracle._random_populate_space()


def bayesian_values(oracle, restarts: int, candidates: int) -> dict | None:
    """The values `BayesianOptimizationOracle.populate_space` proposes, found with fewer restarts.

    The same Gaussian process and upper confidence bound `mu - beta * sigma` as KerasTuner's, but
    L-BFGS-B starts from the best `restarts` of `candidates` random points scored in one vectorized
    `predict` (KerasTuner: 50 random starts). `None` while the oracle is still in its random phase.
    """
    import numpy as np
    import scipy.optimize

    completed = [t for t in oracle.trials.values() if t.status == "COMPLETED"]
    initial = oracle.num_initial_points or max(3 * len(oracle.hyperparameters.space), 3)
    if len(completed) < initial:
        return None
    x, y = oracle._vectorize_trials()
    oracle.gpr.fit(np.nan_to_num(x, posinf=0, neginf=0), np.nan_to_num(y, posinf=0, neginf=0))
    bounds = oracle._get_hp_bounds()
    pool = oracle._random_state.uniform(bounds[:, 0], bounds[:, 1], size=(candidates, bounds.shape[0]))
    mu, sigma = oracle.gpr.predict(pool, return_std=True)
    best_x, best = None, np.inf
    for start in pool[np.argsort(mu - oracle.beta * sigma)[:restarts]]:
        def bound(point):
            m, s = oracle.gpr.predict(point.reshape(1, -1), return_std=True)
            return float((m - oracle.beta * s)[0])

        result = scipy.optimize.minimize(bound, x0=start, bounds=bounds, method="L-BFGS-B")
        if float(np.ravel(result.fun)[0]) < best:
            best, best_x = float(np.ravel(result.fun)[0]), result.x
    return oracle._vector_to_values(best_x)


def serve(oracle, host: str, port: int, timeout: float | None = None, poll: float = 0.1,
          grace: float = 30.0) -> None:
    """Serves `oracle` to workers over gRPC until the search is over, like `oracle_chief.start_server`.

    Unlike KerasTuner's server (which polls every 20 s and never gives up), it checks every `poll`
    seconds, stops `grace` seconds after the last trial ended even if a worker vanished without a
    goodbye, and raises `KerasoptError` after `timeout` seconds or when `host:port` cannot be bound.
    """
    from concurrent import futures

    import grpc
    from keras_tuner.src import protos
    from keras_tuner.src.distribute.oracle_chief import OracleServicer, exit_chief

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    servicer = OracleServicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError:
        bound = 0
    if not bound:
        raise KerasoptError(f"The chief cannot listen on {host}:{port}: the port is in use or the address "
                            "is not one of this machine's. Choose another --oracle.")
    server.start()
    start = time.monotonic()
    idle_since = None
    try:
        while True:
            time.sleep(poll)
            if servicer.stop_triggered:
                if exit_chief(oracle):
                    break
                if not oracle.ongoing_trials:
                    idle_since = idle_since or time.monotonic()
                    if time.monotonic() - idle_since > grace:
                        print(f"chief: all trials ended; not waiting for worker(s) "
                              f"{', '.join(sorted(oracle.tuner_ids))} that never asked for more.", flush=True)
                        break
                else:
                    idle_since = None
            if timeout is not None and time.monotonic() - start > timeout:
                raise KerasoptError(f"The chief stopped after its timeout of {timeout:g} s; finished trials are "
                                    "kept, and running the same command again resumes the search.")
    finally:
        server.stop(grace=1).wait(5)
