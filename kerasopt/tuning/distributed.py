"""`launch`: a search as a chief and worker processes on this machine, a dead worker restarted.

Every process is started through the command line (`python -m kerasopt tune ... --role
chief|worker`), so this module imports neither the search nor KerasTuner. The KerasTuner traps it
and `_compat.serve` handle are listed in docs/tuning.md (distributed search).
"""

from __future__ import annotations

import glob
import os
import signal
import socket
import subprocess
import sys
import time

from kerasopt import _io, spec
from kerasopt.errors import KerasoptError

__all__ = ["launch", "DEFAULT_TIMEOUT"]

DEFAULT_TIMEOUT = 6 * 3600.0


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            process.kill()
        process.wait(5)


def launch(args: list[str], out: str, *, workers: int, timeout: float | None = None, verbose: int = 1,
           host: str = "127.0.0.1", max_restarts: int = 3, poll: float = 0.2) -> None:
    """Runs a search as a chief and `workers` worker processes on `host`; returns when it is over.

    Each process runs `python -m kerasopt tune ARGS --role ...`, its log in `out/logs/<id>.log`;
    `out/logs/exit_codes.json` records how each ended and the restarts.

    Args:
        args: The `kerasopt tune` flags every process shares (`--out` among them).
        out: The output directory (the value of `--out`).
        workers: Number of worker processes (>= 1).
        timeout: Bound on the whole run in seconds (default 6 hours).
        verbose: 1 prints a progress line per finished trial.
        host: Address the chief listens on.
        max_restarts: Restarts allowed per worker (a failed one restarts with the same id).
        poll: Seconds between checks.

    Raises:
        KerasoptError: if the chief fails, a worker keeps failing, or the time bound passes.
    """
    timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)
    group = _Processes([*args, *spec.to_argv({"timeout": timeout}, ["timeout"])], out, host, workers, verbose)
    deadline = time.monotonic() + timeout
    if verbose:
        print(f"distributed search: chief on {host}:{group.port} and {workers} worker(s); logs in {group.logs}",
              flush=True)
    try:
        for tuner_id in ["chief", *group.restarts]:
            group.start(tuner_id)
        chief_ended_at = None
        while True:
            time.sleep(poll)
            group.report_new_trials()
            chief_rc = group.processes["chief"].poll()
            if chief_rc not in (None, 0):
                raise KerasoptError(f"The chief exited with status {chief_rc}: {group.tail('chief')}")
            group.restart_failed_workers(chief_rc, max_restarts)
            if chief_rc == 0:
                chief_ended_at = chief_ended_at or time.monotonic()
                if len(group.done) == workers or time.monotonic() - chief_ended_at > 30:
                    break
            elif len(group.done) == workers:
                # Every worker got its stop signal; the chief follows within a moment.
                try:
                    group.processes["chief"].wait(max(1.0, min(60.0, deadline - time.monotonic())))
                except subprocess.TimeoutExpired:
                    pass
                if group.processes["chief"].poll() not in (None, 0):
                    continue  # reported as a chief failure on the next pass
                break
            if time.monotonic() > deadline:
                raise KerasoptError(f"The distributed search did not finish within {timeout:g} s; finished "
                                    "trials are kept, and running the same command again resumes it.")
        group.report_new_trials()
    finally:
        group.stop_all()


class _Processes:
    """The chief and worker processes of one `launch`, their logs, restarts and reported trials."""

    def __init__(self, args: list[str], out: str, host: str, workers: int, verbose: int):
        self.args, self.host, self.verbose = args, host, verbose
        self.logs = os.path.join(out, "logs")
        os.makedirs(self.logs, exist_ok=True)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))  # the OS picks a free port
            self.port = int(s.getsockname()[1])
        self.history = os.path.join(out, "history")
        self.seen = set(glob.glob(os.path.join(self.history, "trial_*.json")))
        self.processes: dict[str, subprocess.Popen] = {}
        self.restarts = {f"worker{i}": 0 for i in range(workers)}
        self.done: set[str] = set()

    def start(self, tuner_id: str) -> None:
        env = {**os.environ, "KERASTUNER_TUNER_ID": tuner_id, "KERASTUNER_ORACLE_IP": self.host,
               "KERASTUNER_ORACLE_PORT": str(self.port), "TF_CPP_MIN_LOG_LEVEL": "3"}
        role = {"role": "chief", "finalize": False} if tuner_id == "chief" else {"role": "worker",
                                                                                  "worker_id": tuner_id}
        command = [sys.executable, "-m", "kerasopt", "tune", *self.args,
                   *spec.to_argv({**role, "oracle": f"{self.host}:{self.port}"}, [*role, "oracle"])]
        _io.write_json(os.path.join(self.logs, f"{tuner_id}.command.json"), {"command": command})
        with open(os.path.join(self.logs, f"{tuner_id}.log"), "ab") as log:
            self.processes[tuner_id] = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)

    def tail(self, tuner_id: str, lines: int = 3) -> str:
        """The last lines of a process's log, on one line."""
        try:
            with open(os.path.join(self.logs, f"{tuner_id}.log"), encoding="utf-8", errors="replace") as f:
                text = [line.strip() for line in f.read().splitlines() if line.strip()]
        except OSError:
            return ""
        return " | ".join(text[-lines:])

    def report_new_trials(self) -> None:
        from kerasopt.tuning.report import progress_line

        for path in sorted(set(glob.glob(os.path.join(self.history, "trial_*.json"))) - self.seen):
            self.seen.add(path)
            if self.verbose:
                record = _io.read_json(path, default=None)
                if record is None:
                    self.seen.discard(path)  # being written; read it next time
                    continue
                print(progress_line(record["trial_id"], record["objective"], record, record["hyperparameters"],
                                    prefix=f"[{record['tuner_id']}] "), flush=True)

    def restart_failed_workers(self, chief_rc: int | None, max_restarts: int) -> None:
        """Marks finished workers done and restarts failed ones, while the chief runs."""
        for worker_id in self.restarts:
            rc = None if worker_id in self.done else self.processes[worker_id].poll()
            if rc is None:
                continue
            if rc == 0 or chief_rc is not None:  # after the chief: the search is over, nothing to recover
                self.done.add(worker_id)
                continue
            self.restarts[worker_id] += 1
            if self.restarts[worker_id] > max_restarts:
                raise KerasoptError(f"Worker {worker_id} failed {self.restarts[worker_id]} times (last status "
                                    f"{rc}): {self.tail(worker_id)}")
            if self.verbose:
                print(f"worker {worker_id} exited with status {rc}; restarting it with the same id to "
                      f"recover its trial ({self.restarts[worker_id]}/{max_restarts})", flush=True)
            self.start(worker_id)

    def stop_all(self) -> None:
        """Stops every process and writes `exit_codes.json` (`null`: it had to be stopped)."""
        codes = {}
        for tuner_id, process in self.processes.items():
            codes[tuner_id] = process.poll()  # None: still running, so stopped here
            _stop(process)
        _io.write_json(os.path.join(self.logs, "exit_codes.json"), {"codes": codes, "restarts": self.restarts})
