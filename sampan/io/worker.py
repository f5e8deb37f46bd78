"""The DataLoader's worker processes: what runs in a worker, and what a worker's failure looks like.

Protocol (one index queue per worker, one shared result queue):

* parent -> worker: ``(epoch, task, indices)`` for a map-style dataset, ``(epoch, task, None)`` for
  "your next batch" of an iterable dataset; ``None`` to stop.
* worker -> parent: ``(epoch, task, worker_id, payload, error)`` where ``payload`` is the pickled
  collated batch (Tensors replaced by ``TensorBox``), or ``ITERABLE_END`` once an iterable dataset's
  copy in this worker is exhausted; ``error`` is a ``WorkerError`` or None.

The batch is pickled inside the worker so that an unpicklable sample is reported like any other
error (``multiprocessing.Queue`` would pickle it in a feeder thread, lose it and hang the parent).
"""
from __future__ import annotations

import os
import pickle
import queue
import random
import traceback

import numpy as np

__all__ = ["WorkerInfo", "get_worker_info"]

ITERABLE_END = "__sampan_iterable_end__"
_POLL_S = 1.0  # how often an idle worker checks that its parent is still alive

_worker_info = None


class WorkerInfo:
    """What a worker process knows about itself (``paddle.io.get_worker_info()``).

    Attributes:
        id (int): this worker's index, ``0 .. num_workers-1``.
        num_workers (int): the number of workers of the DataLoader.
        dataset (Dataset): this worker's copy of the dataset.
        seed (int): the base seed of this worker (NumPy, ``random`` and sampan are seeded from it).
    """

    def __init__(self, id, num_workers, dataset, seed):
        self.id, self.num_workers, self.dataset, self.seed = id, num_workers, dataset, seed

    def __repr__(self):
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed})"


def get_worker_info():
    """The ``WorkerInfo`` of the current DataLoader worker process, or None in the main process.

    Use it in ``IterableDataset.__iter__`` to give every worker a distinct share of the stream.

    Example:
        >>> import sampan as paddle
        >>> paddle.io.get_worker_info() is None
        True
    """
    return _worker_info


def worker_numpy_seed(base_seed, worker_id):
    """The NumPy seed of worker ``worker_id``: mixed from the base seed, distinct per worker."""
    return int(np.random.SeedSequence([int(base_seed), int(worker_id)]).generate_state(1)[0])


class WorkerError:
    """A picklable account of an exception raised in a worker, re-raised in the parent."""

    def __init__(self, worker_id, exc, where, tb_text):
        self.worker_id = worker_id
        self.where = where
        self.exc_name = type(exc).__name__
        self.message = str(exc)
        self.tb_text = tb_text
        try:  # the type travels by reference; keep it only if the parent can unpickle it
            pickle.loads(pickle.dumps(type(exc)))
            self.exc_type = type(exc)
        except Exception:
            self.exc_type = None

    def describe(self):
        return (f"DataLoader worker {self.worker_id} raised {self.exc_name} {self.where}: {self.message}\n"
                f"The worker's {self.tb_text}")

    def reraise(self):
        msg = self.describe()
        err = None
        if self.exc_type is not None and issubclass(self.exc_type, Exception):
            try:  # KeyError's str() is the repr of its argument: give it a str that reprs as itself
                err = self.exc_type(_Message(msg) if issubclass(self.exc_type, KeyError) else msg)
            except Exception:
                err = None
        if err is None or err.args[:1] != (msg,):  # types whose constructor does not take one message
            err = RuntimeError(msg)
        raise err


class _Message(str):
    def __repr__(self):
        return str(self)


def _fetch_indices(dataset, indices, collate_fn, auto_collation, state):
    samples = []
    for i in indices:
        state["index"] = i
        samples.append(dataset[i])
    state["index"] = None
    return collate_fn(samples) if auto_collation else collate_fn(samples[0])


def _fetch_iterable(it_state, dataset, batch_size, drop_last, collate_fn, auto_collation):
    if it_state["done"]:
        return ITERABLE_END
    it = it_state["iter"]
    want = batch_size if auto_collation else 1
    samples = []
    for s in it:
        samples.append(s)
        if len(samples) == want:
            break
    if not samples or (auto_collation and drop_last and len(samples) < want):
        it_state["done"] = True
        return ITERABLE_END
    if len(samples) < want:
        it_state["done"] = True  # the stream ended inside this batch: the next request gets the end marker
    return collate_fn(samples) if auto_collation else collate_fn(samples[0])


def _seed_worker(base_seed, worker_id):
    seed = int(base_seed) + int(worker_id)
    from ..core import state
    state.seed(seed)  # sampan's generator (paddle.rand in a dataset); it also seeds NumPy, overridden next
    np.random.seed(worker_numpy_seed(base_seed, worker_id))
    random.seed(seed)
    return seed


def worker_loop(dataset, is_iterable, index_queue, result_queue, collate_fn, auto_collation, batch_size,
                drop_last, worker_id, num_workers, base_seed, worker_init_fn, parent_pid):
    """Body of one worker process."""
    global _worker_info
    from .collate import to_transport
    init_error = None
    try:
        seed = _seed_worker(base_seed, worker_id)
        _worker_info = WorkerInfo(worker_id, num_workers, dataset, seed)
        if worker_init_fn is not None:
            worker_init_fn(worker_id)
    except Exception as e:
        init_error = WorkerError(worker_id, e, "in worker_init_fn", traceback.format_exc())
    it_state = {"epoch": None, "iter": None, "done": False}
    fetch_state = {"index": None}
    try:
        while True:
            try:
                msg = index_queue.get(timeout=_POLL_S)
            except queue.Empty:
                if os.getppid() != parent_pid:  # orphaned: the parent died without stopping us
                    break
                continue
            if msg is None:
                break
            epoch, task, indices = msg
            if init_error is not None:
                result_queue.put((epoch, task, worker_id, None, init_error))
                continue
            try:
                if is_iterable:
                    if it_state["epoch"] != epoch:
                        it_state.update(epoch=epoch, iter=iter(dataset), done=False)
                    data = _fetch_iterable(it_state, dataset, batch_size, drop_last, collate_fn, auto_collation)
                    if data is ITERABLE_END:
                        result_queue.put((epoch, task, worker_id, ITERABLE_END, None))
                        continue
                else:
                    data = _fetch_indices(dataset, indices, collate_fn, auto_collation, fetch_state)
                payload = pickle.dumps(to_transport(data), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as e:
                result_queue.put((epoch, task, worker_id, None,
                                  WorkerError(worker_id, e, _where(is_iterable, fetch_state, indices),
                                              traceback.format_exc())))
                continue
            result_queue.put((epoch, task, worker_id, payload, None))
    except KeyboardInterrupt:
        pass
    finally:
        # Unsent results are of no use once we are told to stop; do not block exit flushing them.
        result_queue.cancel_join_thread()


def _where(is_iterable, fetch_state, indices):
    if is_iterable:
        return "while reading its IterableDataset copy"
    if fetch_state["index"] is not None:
        i = fetch_state["index"]
        fetch_state["index"] = None
        return f"while reading dataset index {i} (batch indices {_short(indices)})"
    return f"while collating the batch of dataset indices {_short(indices)}"


def _short(indices):
    indices = list(indices)
    return str(indices) if len(indices) <= 16 else f"[{', '.join(map(str, indices[:16]))}, ...]"
