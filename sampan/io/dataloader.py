"""``paddle.io.DataLoader``: batches from a dataset, in the main process or in worker processes.

With ``num_workers > 0`` the parent keeps ``prefetch_factor * num_workers`` batches requested from
worker processes (forked on Linux), hands them out in sampler order, re-raises a worker's exception
naming the worker and the dataset index, honours ``timeout``, notices a worker that died, and stops
the workers when the epoch ends, when the iterator is dropped, or on error.

Seeding: shuffling draws from sampan's global generator (``paddle.seed``) in the parent, so the batches
do not depend on ``num_workers``. Each worker seeds NumPy, ``random`` and sampan from a base seed that
is derived from ``paddle.seed`` and a counter of worker starts (never by drawing from the global
generator, which would shift every later random number), so per-worker random data is distinct,
new every epoch, and reproducible after ``paddle.seed``.
"""
from __future__ import annotations

import multiprocessing as mp
import numbers
import pickle
import queue
import sys
import time

import numpy as np

from .collate import default_collate_fn, default_convert_fn, to_tensors
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequenceSampler
from .worker import ITERABLE_END, WorkerError, worker_loop

__all__ = ["DataLoader"]

_POLL_S = 0.5          # how often the parent checks worker liveness while waiting
_JOIN_S = 5.0          # grace period for a worker to exit before it is terminated
_seed_counter = {"rng": None, "n": 0}


def _next_base_seed():
    from ..core import state
    g = state.rng()
    if _seed_counter["rng"] is not g:   # paddle.seed() installs a new generator: restart the count
        _seed_counter.update(rng=g, n=0)
    n = _seed_counter["n"]
    _seed_counter["n"] += 1
    s = state.get_seed()
    entropy = [int(s), n] if s is not None else None
    return int(np.random.SeedSequence(entropy).generate_state(1)[0]) & 0x3FFFFFFF


class DataLoader:
    """Iterate over a dataset in batches of Tensors.

    Args:
        dataset (Dataset | IterableDataset): the samples.
        feed_list, places: accepted for Paddle compatibility (sampan runs on the CPU in eager mode).
        return_list (bool): accepted; batches are always returned as (nested) lists of Tensors.
        batch_sampler (BatchSampler, optional): yields lists of indices; excludes batch_size/shuffle/drop_last.
        batch_size (int | None): samples per batch (default 1); None yields single samples, not collated.
        shuffle (bool): shuffle the indices every epoch (map-style datasets). Default False.
        drop_last (bool): drop the last incomplete batch. Default False.
        collate_fn (callable, optional): list of samples -> batch; ``default_collate_fn`` by default.
        num_workers (int): worker processes loading batches; 0 loads in the main process. Default 0.
        use_buffer_reader, use_shared_memory: accepted; batches travel between processes pickled.
        prefetch_factor (int): batches requested ahead per worker. Default 2.
        timeout (float): seconds to wait for a batch from the workers; 0 waits forever. Default 0.
        worker_init_fn (callable, optional): called as ``worker_init_fn(worker_id)`` in each worker.
        persistent_workers (bool): keep the workers alive between epochs. Default False.

    The loader is iterable, and callable: ``loader()`` returns a fresh iterator, as Paddle's guide uses.

    Example:
        >>> import numpy as np
        >>> import sampan as paddle
        >>> ds = paddle.io.TensorDataset([np.arange(10, dtype='float32').reshape(5, 2), np.arange(5)])
        >>> loader = paddle.io.DataLoader(ds, batch_size=2)
        >>> [x.shape for x, y in loader()]
        [[2, 2], [2, 2], [1, 2]]
        >>> len(loader)
        3
    """

    def __init__(self, dataset, feed_list=None, places=None, return_list=True, batch_sampler=None, batch_size=1,
                 shuffle=False, drop_last=False, collate_fn=None, num_workers=0, use_buffer_reader=True,
                 prefetch_factor=2, use_shared_memory=True, timeout=0, worker_init_fn=None,
                 persistent_workers=False):
        self.dataset = dataset
        self.feed_list, self.places, self.return_list = feed_list, places, return_list
        self.use_buffer_reader, self.use_shared_memory = use_buffer_reader, use_shared_memory
        self._check_workers(num_workers, prefetch_factor, timeout, worker_init_fn)
        self.num_workers, self.prefetch_factor, self.timeout = int(num_workers), int(prefetch_factor), timeout
        self.worker_init_fn = worker_init_fn
        self.persistent_workers = bool(persistent_workers) and self.num_workers > 0
        self._is_iterable = isinstance(dataset, IterableDataset)
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or drop_last:
                raise ValueError("DataLoader: batch_sampler excludes batch_size, shuffle and drop_last (they belong "
                                 f"to the sampler). Received: batch_size={batch_size}, shuffle={shuffle}, "
                                 f"drop_last={drop_last}.")
            if self._is_iterable:
                raise ValueError("DataLoader: an IterableDataset cannot take a batch_sampler.")
            batch_size, drop_last = getattr(batch_sampler, "batch_size", None), getattr(batch_sampler, "drop_last",
                                                                                        False)
        elif batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
                                         or batch_size <= 0):
            raise ValueError(f"DataLoader: batch_size must be a positive integer or None. "
                             f"Received: batch_size={batch_size!r}.")
        if self._is_iterable and shuffle:
            raise ValueError("DataLoader: shuffle=True is not possible with an IterableDataset (it is read in "
                             "stream order); shuffle inside the dataset instead.")
        self.batch_size, self.drop_last, self.shuffle = batch_size, bool(drop_last), bool(shuffle)
        self._auto_collation = batch_sampler is not None or batch_size is not None
        self.collate_fn = collate_fn or (default_collate_fn if self._auto_collation else default_convert_fn)
        self.batch_sampler = batch_sampler
        self.sampler = None
        if not self._is_iterable:
            self.sampler = RandomSampler(dataset) if shuffle else SequenceSampler(dataset)
            if batch_sampler is None and batch_size is not None:
                self.batch_sampler = BatchSampler(sampler=self.sampler, batch_size=batch_size, drop_last=drop_last)
        self._pool = None
        self._epoch = 0

    @staticmethod
    def _check_workers(num_workers, prefetch_factor, timeout, worker_init_fn):
        if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be a non-negative integer. Received: {num_workers!r}.")
        if not isinstance(prefetch_factor, numbers.Integral) or prefetch_factor <= 0:
            raise ValueError(f"DataLoader: prefetch_factor must be a positive integer. Received: {prefetch_factor!r}.")
        if not isinstance(timeout, numbers.Real) or timeout < 0:
            raise ValueError(f"DataLoader: timeout must be a non-negative number of seconds. Received: {timeout!r}.")
        if worker_init_fn is not None and not callable(worker_init_fn):
            raise TypeError("DataLoader: worker_init_fn must be callable.")

    def __len__(self):
        if self._is_iterable:
            try:
                n = len(self.dataset)
            except TypeError:
                raise TypeError("DataLoader: the length of a DataLoader over an IterableDataset is unknown "
                                "(the dataset defines no __len__).") from None
            if not self._auto_collation:
                return n
            return n // self.batch_size if self.drop_last else (n + self.batch_size - 1) // self.batch_size
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    def __iter__(self):
        self._epoch += 1
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        if self.persistent_workers:
            if self._pool is None or not self._pool.alive():
                if self._pool is not None:
                    self._pool.shutdown()
                self._pool = _WorkerPool(self)
            return _MultiProcessIter(self, self._pool, self._epoch, owns_pool=False)
        return _MultiProcessIter(self, _WorkerPool(self), self._epoch, owns_pool=True)

    def __call__(self):
        return self.__iter__()

    def _index_iter(self):
        """Iterator over what one fetch reads: index lists (batched) or single indices."""
        if self.batch_sampler is not None:
            return iter(self.batch_sampler)
        return ([i] for i in self.sampler)

    def __del__(self):
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown()

    @staticmethod
    def from_generator(*args, **kwargs):
        raise NotImplementedError("DataLoader.from_generator (Paddle's legacy static-graph feeder) is not "
                                  "supported by sampan; wrap the generator in a paddle.io.IterableDataset.")


class _SingleProcessIter:
    """Loads every batch in the calling thread, in order."""

    def __init__(self, loader):
        self._loader = loader
        if loader._is_iterable:
            self._stream = iter(loader.dataset)
            self._done = False
        else:
            self._indices = loader._index_iter()

    def __iter__(self):
        return self

    def _next_iterable(self):
        ld = self._loader
        if self._done:
            raise StopIteration
        want = ld.batch_size if ld._auto_collation else 1
        samples = []
        for s in self._stream:
            samples.append(s)
            if len(samples) == want:
                break
        if not samples or (ld._auto_collation and ld.drop_last and len(samples) < want):
            self._done = True
            raise StopIteration
        if len(samples) < want:
            self._done = True
        return ld.collate_fn(samples) if ld._auto_collation else ld.collate_fn(samples[0])

    def __next__(self):
        ld = self._loader
        if ld._is_iterable:
            return to_tensors(self._next_iterable())
        indices = next(self._indices)
        samples = [ld.dataset[i] for i in indices]
        batch = ld.collate_fn(samples) if ld._auto_collation else ld.collate_fn(samples[0])
        return to_tensors(batch)

    def __len__(self):
        return len(self._loader)


def _mp_context():
    methods = mp.get_all_start_methods()
    return mp.get_context("fork" if "fork" in methods and sys.platform != "darwin" else "spawn")


class _WorkerPool:
    """The worker processes and their queues."""

    def __init__(self, loader):
        import os
        ctx = _mp_context()
        self.num_workers = loader.num_workers
        self.base_seed = _next_base_seed()
        self.result_queue = ctx.Queue()
        self.index_queues, self.workers = [], []
        self._closed = False
        for wid in range(self.num_workers):
            iq = ctx.Queue()
            w = ctx.Process(target=worker_loop, name=f"sampan-dataloader-worker-{wid}",
                            args=(loader.dataset, loader._is_iterable, iq, self.result_queue, loader.collate_fn,
                                  loader._auto_collation, loader.batch_size, loader.drop_last, wid,
                                  self.num_workers, self.base_seed, loader.worker_init_fn, os.getpid()))
            w.daemon = True
            w.start()
            self.index_queues.append(iq)
            self.workers.append(w)

    def alive(self):
        return not self._closed and all(w.is_alive() for w in self.workers)

    def dead_worker(self):
        """(worker id, exit code) of a worker that exited on its own, or None."""
        for wid, w in enumerate(self.workers):
            if not self._closed and w.exitcode is not None:
                return wid, w
        return None

    def shutdown(self, grace=_JOIN_S):
        """Stop the workers: ask, wait up to ``grace`` seconds, then terminate the ones still busy."""
        if self._closed:
            return
        self._closed = True
        for iq in self.index_queues:
            try:
                iq.put(None)
            except Exception:  # noqa: BLE001 - the queue may already be broken; we are stopping anyway
                pass
        deadline = time.monotonic() + grace
        for w in self.workers:
            w.join(max(0.0, deadline - time.monotonic()))
            if w.is_alive():
                w.terminate()
                w.join(1.0)
        for q in self.index_queues + [self.result_queue]:
            q.cancel_join_thread()
            q.close()

    def __del__(self):
        try:
            self.shutdown()
        except Exception:  # noqa: BLE001 - interpreter shutdown: modules may be gone
            pass


def _describe_exit(w):
    code = w.exitcode
    if code is not None and code < 0:
        import signal
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited unexpectedly with exit code {code}"


class _MultiProcessIter:
    """Hands out the workers' batches in request order."""

    def __init__(self, loader, pool, epoch, owns_pool):
        self._loader, self._pool, self._epoch, self._owns_pool = loader, pool, epoch, owns_pool
        self._indices = None if loader._is_iterable else loader._index_iter()
        self._active = [True] * pool.num_workers
        self._next_worker = 0
        self._send_idx = self._rcvd_idx = 0
        self._task_worker = {}
        self._buffer = {}
        self._finished = False
        try:
            for _ in range(loader.prefetch_factor * pool.num_workers):
                if not self._put_task():
                    break
        except BaseException:
            self._shutdown()
            raise

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._loader)

    def _pick_worker(self):
        n = len(self._active)
        for k in range(n):
            wid = (self._next_worker + k) % n
            if self._active[wid]:
                self._next_worker = (wid + 1) % n
                return wid
        return None

    def _put_task(self):
        wid = self._pick_worker()
        if wid is None:
            return False
        if self._indices is not None:
            indices = next(self._indices, None)
            if indices is None:
                return False
        else:
            indices = None
        self._pool.index_queues[wid].put((self._epoch, self._send_idx, indices))
        self._task_worker[self._send_idx] = wid
        self._send_idx += 1
        return True

    def __next__(self):
        try:
            return self._next()
        except StopIteration:
            self._shutdown()
            raise
        except BaseException:
            self._shutdown(grace=0.2)  # after an error or a timeout, do not wait for a busy worker
            raise

    def _next(self):
        if self._finished:
            raise StopIteration
        while True:
            if self._rcvd_idx >= self._send_idx:
                self._finished = True
                raise StopIteration
            if self._rcvd_idx in self._buffer:
                payload = self._buffer.pop(self._rcvd_idx)
                self._task_worker.pop(self._rcvd_idx, None)
                self._rcvd_idx += 1
                if payload is ITERABLE_END:
                    continue
                if isinstance(payload, WorkerError):
                    payload.reraise()
                self._put_task()
                return to_tensors(pickle.loads(payload))
            self._receive()

    def _receive(self):
        """Wait for one result from any worker and buffer it."""
        timeout = self._loader.timeout
        start = time.monotonic()
        while True:
            wait = _POLL_S if not timeout else min(_POLL_S, max(0.0, timeout - (time.monotonic() - start)))
            try:
                epoch, task, wid, payload, error = self._pool.result_queue.get(timeout=wait)
            except queue.Empty:
                dead = self._pool.dead_worker()
                if dead is not None:
                    wid, w = dead
                    raise RuntimeError(f"DataLoader worker {wid} (pid {w.pid}) {_describe_exit(w)} while the "
                                       f"main process waited for batch {self._rcvd_idx}. If the dataset uses a lot "
                                       f"of memory, a smaller batch_size or fewer workers may help.") from None
                if timeout and time.monotonic() - start >= timeout:
                    wid = self._task_worker.get(self._rcvd_idx)
                    raise RuntimeError(f"DataLoader timed out: no batch from worker {wid} within timeout={timeout} "
                                       f"s (waiting for batch {self._rcvd_idx}).") from None
                continue
            if epoch != self._epoch:   # a late answer to an abandoned iterator of a persistent pool
                continue
            if error is not None:   # raised in task order, like the batches (deterministic)
                self._buffer[task] = error
                return
            if isinstance(payload, str):  # ITERABLE_END: this worker's copy of the stream is exhausted
                self._active[wid] = False
                payload = ITERABLE_END
            self._buffer[task] = payload
            return

    def _shutdown(self, grace=_JOIN_S):
        self._finished = True
        if self._owns_pool and self._pool is not None:
            self._pool.shutdown(grace)

    def __del__(self):
        try:
            self._shutdown()
        except Exception:  # noqa: BLE001 - interpreter shutdown: modules may be gone
            pass
