"""Every use of KerasTuner's private API in kerasopt, in one place.

Tested with KerasTuner 1.4.8 (setup.cfg pins `keras-tuner>=1.4.7,<1.5`).
Nothing else in kerasopt imports `keras_tuner.src` or touches a private
name of a KerasTuner object; a test checks this. When KerasTuner changes,
this module is the one to adapt:

- `is_chief_oracle()`: whether this process serves the oracle
  (`keras_tuner.src.distribute.utils`).
- `is_worker(tuner)`: whether a tuner is a client of a chief (`Tuner._is_worker`).
- `repair_oracle(oracle)`: rebuilds a reloaded oracle's retry queue
  (`Oracle._retry_queue`).
- `is_duplicate(oracle, values)` and `random_values(oracle)`: an oracle's
  duplicate check and random sampling (`Oracle._duplicate`,
  `Oracle._random_populate_space`).
- `bayesian_values(oracle, restarts, candidates)`: the Bayesian oracle's
  proposal from its Gaussian process (`gpr`, `beta`, `_vectorize_trials`,
  `_get_hp_bounds`, `_vector_to_values`, `_random_state`).
- `serve(oracle, host, port, ...)`: serves an oracle over gRPC with
  KerasTuner's servicer and protocol buffers (`OracleServicer`,
  `exit_chief`, `protos`), like `oracle_chief.start_server` but with prompt
  shutdown and a time bound.
"""

from __future__ import annotations

import time

from kerasopt.errors import KerasoptError

__all__ = ["is_chief_oracle", "is_worker", "repair_oracle", "is_duplicate", "random_values", "bayesian_values",
           "serve"]

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


def is_duplicate(oracle, values: dict) -> bool:
    """Whether `values` were already tried by `oracle`."""
    return bool(oracle._duplicate(values))


def random_values(oracle) -> dict:
    """A random-sampling response of `oracle` (`{"status": ..., "values": ...}`)."""
    return oracle._random_populate_space()


def bayesian_values(oracle, restarts: int, candidates: int) -> dict | None:
    """The values `BayesianOptimizationOracle.populate_space` proposes, found with fewer restarts.

    KerasTuner fits its Gaussian process to the completed trials and
    minimizes the upper confidence bound `mu - beta * sigma` with L-BFGS-B
    from 50 random starting points, each step scoring one point per
    `predict` call. This fits
    the same process and minimizes the same bound, but scores `candidates`
    random points in one vectorized `predict` and starts L-BFGS-B from the
    best `restarts` of them.

    Returns:
        The proposed values, or `None` while the oracle is still in its
        random phase (fewer completed trials than its initial points).
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
    """Serves `oracle` to workers over gRPC until the search is over.

    Like `keras_tuner`'s `oracle_chief.start_server`, but it stops within
    `poll` seconds of the last worker leaving, stops `grace` seconds after the
    last trial ended even if a worker vanished without saying goodbye, and
    raises after `timeout` seconds (KerasTuner's server polls every 20 s and
    never gives up).

    Args:
        oracle: The chief's oracle.
        host: Address to listen on.
        port: Port to listen on.
        timeout: Seconds after which serving stops with an error (`None`: no bound).
        poll: Seconds between checks.
        grace: Seconds to wait for silent workers once no trial is running.

    Raises:
        KerasoptError: if the port cannot be bound or `timeout` passes.
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
