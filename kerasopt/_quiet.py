"""Silencing TensorFlow's retracing warning where kerasopt builds many models on purpose."""

from __future__ import annotations

import contextlib
import logging

__all__ = ["quiet_retracing"]


class _DropRetracingWarning(logging.Filter):
    """Drops TensorFlow's "triggered tf.function retracing" warning.

    Every fold, member or trial builds new models, and each new model traces
    its own train and predict functions; TensorFlow counts those traces across
    models (they share the Python function Keras wraps) and warns once a few
    have happened, though nothing is retraced needlessly. Only that one
    message is dropped.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


@contextlib.contextmanager
def quiet_retracing():
    """Drops the retracing warning from the `tensorflow` logger while the block runs."""
    logger = logging.getLogger("tensorflow")
    drop = _DropRetracingWarning()
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)
