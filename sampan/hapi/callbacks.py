"""Callbacks of the high-level API (``paddle.callbacks``), with Paddle's hook names.

``Model.fit`` calls, in order: ``on_train_begin``; per epoch ``on_epoch_begin``, per batch
``on_train_batch_begin/end``, ``on_epoch_end``, then (every ``eval_freq`` epochs) ``on_eval_begin``,
``on_eval_batch_begin/end``, ``on_eval_end``; finally ``on_train_end``. ``evaluate`` and ``predict``
call the ``eval``/``predict`` hooks. Logs are dicts: ``loss`` (a one-element list, as in Paddle),
each metric name, ``step`` and ``batch_size``.
"""
from __future__ import annotations

import json
import numbers
import os
import time
import warnings

import numpy as np

from .progressbar import ProgressBar

__all__ = ["Callback", "CallbackList", "ProgBarLogger", "ModelCheckpoint", "EarlyStopping", "LRScheduler",
           "ReduceLROnPlateau", "HistoryLogger", "CSVLogger", "JSONLLogger", "config_callbacks"]

_MAX_METRICS = ("acc", "precision", "recall", "auc", "f1", "iou", "map")


class Callback:
    """Base class: override the hooks you need. ``self.model`` and ``self.params`` are set by ``Model``.

    Example:
        >>> import sampan as paddle
        >>> class CountBatches(paddle.callbacks.Callback):
        ...     def on_train_begin(self, logs=None):
        ...         self.n = 0
        ...     def on_train_batch_end(self, step, logs=None):
        ...         self.n += 1
    """

    def __init__(self):
        self.model = None
        self.params = {}

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_eval_begin(self, logs=None):
        pass

    def on_eval_end(self, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, step, logs=None):
        pass

    def on_train_batch_end(self, step, logs=None):
        pass

    def on_eval_batch_begin(self, step, logs=None):
        pass

    def on_eval_batch_end(self, step, logs=None):
        pass

    def on_predict_batch_begin(self, step, logs=None):
        pass

    def on_predict_batch_end(self, step, logs=None):
        pass


class CallbackList:
    """Dispatches each hook to every callback, in order."""

    def __init__(self, callbacks=None):
        self.callbacks = list(callbacks or [])
        self.params, self.model = {}, None

    def append(self, callback):
        self.callbacks.append(callback)

    def __iter__(self):
        return iter(self.callbacks)

    def set_params(self, params):
        self.params = params
        for c in self.callbacks:
            c.set_params(params)

    def set_model(self, model):
        self.model = model
        for c in self.callbacks:
            c.set_model(model)

    def _call(self, name, *args):
        for c in self.callbacks:
            getattr(c, name)(*args)

    @staticmethod
    def _check_mode(mode):
        if mode not in ("train", "eval", "predict"):
            raise ValueError(f"callback mode must be 'train', 'eval' or 'predict'. Received: {mode!r}.")

    def on_begin(self, mode, logs=None):
        self._check_mode(mode)
        self._call(f"on_{mode}_begin", logs)

    def on_end(self, mode, logs=None):
        self._check_mode(mode)
        self._call(f"on_{mode}_end", logs)

    def on_epoch_begin(self, epoch=None, logs=None):
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch=None, logs=None):
        self._call("on_epoch_end", epoch, logs)

    def on_batch_begin(self, mode, step=None, logs=None):
        self._check_mode(mode)
        self._call(f"on_{mode}_batch_begin", step, logs)

    def on_batch_end(self, mode, step=None, logs=None):
        self._check_mode(mode)
        self._call(f"on_{mode}_batch_end", step, logs)


def scalar_of(value):
    """A monitored value as a float (Paddle logs losses as one-element lists), or None."""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return None


def _is_max_metric(monitor, mode, who):
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{who}: mode {mode!r} is unknown, using 'auto'.", stacklevel=3)
        mode = "auto"
    if mode == "auto":
        return any(m in monitor for m in _MAX_METRICS)
    return mode == "max"


class ProgBarLogger(Callback):
    """Prints ``Epoch i/n`` and a progress bar with step, loss, metrics and time per step.

    Args:
        log_freq (int): update the bar every ``log_freq`` steps. Default 1.
        verbose (int): 0 silent, 1 one bar redrawn in place, 2 one line per update. Default 2.

    Example:
        >>> import sampan as paddle
        >>> logger = paddle.callbacks.ProgBarLogger(log_freq=10, verbose=2)
    """

    def __init__(self, log_freq=1, verbose=2):
        super().__init__()
        self.log_freq, self.verbose = max(1, int(log_freq)), verbose
        self.epochs = self.steps = None

    def _is_print(self):
        return bool(self.verbose)

    def on_train_begin(self, logs=None):
        self.epochs = self.params.get("epochs")
        self.train_metrics = self.params.get("metrics") or []
        if self._is_print() and self.train_metrics:
            print("The loss value printed in the log is the current step, and the metric is the average value of "
                  "previous steps.", flush=True)

    def on_epoch_begin(self, epoch=None, logs=None):
        self.steps = self.params.get("steps")
        self.epoch, self.train_step = epoch, 0
        if self.epochs and self._is_print():
            print(f"Epoch {epoch + 1}/{self.epochs}", flush=True)
        self.train_progbar = ProgressBar(num=self.steps, verbose=self.verbose)

    def _updates(self, logs, mode):
        metrics = getattr(self, f"{mode}_metrics", None) or []
        values = [(k, logs[k]) for k in metrics if k in logs]
        getattr(self, f"{mode}_progbar").update(getattr(self, f"{mode}_step"), values)

    def on_train_batch_end(self, step, logs=None):
        self.train_step += 1
        if self._is_print() and self.train_step % self.log_freq == 0:
            if self.steps is None or self.train_step < self.steps:
                self._updates(logs or {}, "train")

    def on_epoch_end(self, epoch, logs=None):
        if self._is_print() and self.train_step:
            self._updates(logs or {}, "train")

    def on_eval_begin(self, logs=None):
        logs = logs or {}
        self.eval_steps = logs.get("steps")
        self.eval_metrics = logs.get("metrics") or []
        self.eval_step, self.evaled_samples = 0, 0
        self.eval_progbar = ProgressBar(num=self.eval_steps, verbose=self.verbose)
        if self._is_print():
            print("Eval begin...", flush=True)

    def on_eval_batch_end(self, step, logs=None):
        logs = logs or {}
        self.eval_step += 1
        self.evaled_samples += logs.get("batch_size", 1)
        if self._is_print() and self.eval_step % self.log_freq == 0:
            if self.eval_steps is None or self.eval_step < self.eval_steps:
                self._updates(logs, "eval")

    def on_eval_end(self, logs=None):
        if self._is_print():
            if self.eval_step:
                self._updates(logs or {}, "eval")
            print(f"Eval samples: {self.evaled_samples}", flush=True)

    def on_predict_begin(self, logs=None):
        logs = logs or {}
        self.test_steps = logs.get("steps")
        self.test_metrics, self.test_step, self.tested_samples = [], 0, 0
        self.test_progbar = ProgressBar(num=self.test_steps, verbose=self.verbose)
        if self._is_print():
            print("Predict begin...", flush=True)

    def on_predict_batch_end(self, step, logs=None):
        logs = logs or {}
        self.test_step += 1
        self.tested_samples += logs.get("batch_size", 1)
        if self._is_print() and self.test_step % self.log_freq == 0:
            if self.test_steps is None or self.test_step < self.test_steps:
                self._updates(logs, "test")

    def on_predict_end(self, logs=None):
        if self._is_print():
            if self.test_step:
                self._updates(logs or {}, "test")
            print(f"Predict samples: {self.tested_samples}", flush=True)


class ModelCheckpoint(Callback):
    """Saves ``save_dir/<epoch>`` every ``save_freq`` epochs and ``save_dir/final`` at the end of training.

    Each checkpoint is a ``.pdparams`` + ``.pdopt`` pair written by ``Model.save`` (both files complete,
    or no new ``.pdparams`` at all). With ``monitor``, it also keeps ``save_dir/best_model``: the
    parameters of the epoch with the best monitored value (an evaluation metric when ``fit`` has
    ``eval_data``, a training one otherwise).

    Args:
        save_freq (int): save every ``save_freq`` epochs (epochs 0, k, 2k, ...). Default 1.
        save_dir (str, optional): directory; nothing is saved when None.
        monitor (str, optional): a log key (``'loss'``, ``'acc'``, ...) to keep the best model by.
        mode (str): ``'min'``, ``'max'`` or ``'auto'`` (max for accuracy-like names). Default 'auto'.
        min_delta (float): the least change that counts as an improvement. Default 0.
        verbose (int): print where checkpoints go. Default 1.

    Example:
        >>> import sampan as paddle
        >>> ckpt = paddle.callbacks.ModelCheckpoint(save_freq=2, save_dir="checkpoints", monitor="acc")
    """

    def __init__(self, save_freq=1, save_dir=None, monitor=None, mode="auto", min_delta=0.0, verbose=1):
        super().__init__()
        self.save_freq, self.save_dir, self.verbose = max(1, int(save_freq)), save_dir, verbose
        self.monitor, self.min_delta = monitor, abs(float(min_delta))
        self._maximize = _is_max_metric(monitor, mode, "ModelCheckpoint") if monitor else False
        self.best, self.best_epoch = None, None
        self.epoch = 0

    def _is_save(self):
        return self.model is not None and self.save_dir is not None

    def _save(self, name):
        path = os.path.join(self.save_dir, name)
        if self.verbose:
            print(f"save checkpoint at {os.path.abspath(path)}", flush=True)
        self.model.save(path)

    def on_train_begin(self, logs=None):
        self.best, self.best_epoch = None, None

    def on_epoch_begin(self, epoch=None, logs=None):
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if self._is_save() and epoch % self.save_freq == 0:
            self._save(str(epoch))
        if self.monitor and not self.params.get("do_eval"):
            self._check_best(logs)

    def on_eval_end(self, logs=None):
        if self.monitor and self.params.get("do_eval"):
            self._check_best(logs)

    def _check_best(self, logs):
        current = scalar_of((logs or {}).get(self.monitor))
        if current is None:
            warnings.warn(f"ModelCheckpoint: monitor {self.monitor!r} is not in the logs "
                          f"(keys: {sorted(logs or {})}).", stacklevel=2)
            return
        if self.best is None or (current > self.best + self.min_delta if self._maximize
                                 else current < self.best - self.min_delta):
            self.best, self.best_epoch = current, self.epoch
            if self._is_save():
                self._save("best_model")

    def on_train_end(self, logs=None):
        if self._is_save():
            self._save("final")


class EarlyStopping(Callback):
    """Stops training when the monitored evaluation value stops improving.

    Checked after each evaluation in ``fit`` (so ``fit`` needs ``eval_data``). An evaluation improves
    when it beats the best so far by more than ``min_delta``; after ``patience`` evaluations without
    improvement training stops. With ``save_best_model`` the best model is saved to
    ``save_dir/best_model`` (``save_dir`` of ``fit``).

    Args:
        monitor (str): the log key to watch. Default 'loss'.
        mode (str): 'min', 'max' or 'auto' (max for accuracy-like names). Default 'auto'.
        patience (int): evaluations without improvement before stopping. Default 0.
        verbose (int): print when stopping. Default 1.
        min_delta (float): the least change that counts as an improvement. Default 0.
        baseline (float, optional): the value to beat from the start.
        save_best_model (bool): save the best model. Default True.

    Example:
        >>> import sampan as paddle
        >>> stop = paddle.callbacks.EarlyStopping(monitor='loss', patience=2, min_delta=1e-3)
    """

    def __init__(self, monitor="loss", mode="auto", patience=0, verbose=1, min_delta=0, baseline=None,
                 save_best_model=True):
        super().__init__()
        self.monitor, self.patience, self.verbose = monitor, int(patience), verbose
        self.baseline, self.save_best_model = baseline, save_best_model
        self.min_delta = abs(float(min_delta))
        self._maximize = _is_max_metric(monitor, mode, "EarlyStopping")
        self.save_dir = None
        self.wait_epoch = self.stopped_epoch = 0
        self.best_value = None
        self.best_epoch = None

    def _improved(self, current):
        if self._maximize:
            return current - self.min_delta > self.best_value
        return current + self.min_delta < self.best_value

    def on_train_begin(self, logs=None):
        self.wait_epoch = self.stopped_epoch = 0
        self.best_epoch = None
        if self.save_dir is None:
            self.save_dir = self.params.get("save_dir")
        if self.baseline is not None:
            self.best_value = float(self.baseline)
        else:
            self.best_value = -np.inf if self._maximize else np.inf

    def on_eval_end(self, logs=None):
        if self.best_value is None:  # evaluate() outside fit: nothing to stop
            return
        current = scalar_of((logs or {}).get(self.monitor))
        if current is None:
            warnings.warn(f"EarlyStopping: monitor {self.monitor!r} should be the loss or a metric name; the "
                          f"evaluation logs have {sorted(logs or {})}.", stacklevel=2)
            return
        if self._improved(current):
            self.best_value, self.wait_epoch, self.best_epoch = current, 0, self.stopped_epoch
            if self.save_best_model and self.save_dir is not None:
                self.model.save(os.path.join(self.save_dir, "best_model"))
        else:
            self.wait_epoch += 1
        # patience = evaluations without improvement tolerated; an improving evaluation never stops training
        if self.wait_epoch > 0 and self.wait_epoch >= self.patience:
            self.model.stop_training = True
            if self.verbose > 0:
                print(f"Epoch {self.stopped_epoch + 1}: Early stopping.", flush=True)
                if self.save_best_model and self.save_dir is not None:
                    print(f"Best checkpoint has been saved at "
                          f"{os.path.abspath(os.path.join(self.save_dir, 'best_model'))}", flush=True)
        self.stopped_epoch += 1


def _lr_scheduler_of(model):
    opt = getattr(model, "_optimizer", None)
    lr = getattr(opt, "_learning_rate", None)
    if lr is None or isinstance(lr, numbers.Real):
        return None
    return lr if callable(getattr(lr, "step", None)) else None


class LRScheduler(Callback):
    """Steps the optimizer's learning-rate scheduler after every batch (``by_step``) or epoch (``by_epoch``).

    ``Model.fit`` adds ``LRScheduler()`` (by step) unless one is given, as Paddle does.

    Example:
        >>> import sampan as paddle
        >>> cb = paddle.callbacks.LRScheduler(by_step=False, by_epoch=True)
    """

    def __init__(self, by_step=True, by_epoch=False):
        super().__init__()
        if by_step and by_epoch:
            raise ValueError("LRScheduler: by_step and by_epoch are mutually exclusive.")
        self.by_step, self.by_epoch = by_step, by_epoch

    def on_epoch_end(self, epoch, logs=None):
        sched = _lr_scheduler_of(self.model) if self.by_epoch else None
        if sched is not None:
            sched.step()

    def on_train_batch_end(self, step, logs=None):
        sched = _lr_scheduler_of(self.model) if self.by_step else None
        if sched is not None:
            sched.step()


class ReduceLROnPlateau(Callback):
    """Multiplies a float learning rate by ``factor`` when the monitored evaluation value plateaus.

    Args:
        monitor (str): log key. Default 'loss'.
        factor (float): new_lr = lr * factor (< 1). Default 0.1.
        patience (int): evaluations without improvement before reducing. Default 10.
        verbose (int): print reductions. Default 1.
        mode (str): 'min', 'max' or 'auto'. Default 'auto'.
        min_delta (float): the least change that counts as an improvement. Default 1e-4.
        cooldown (int): evaluations to wait after a reduction. Default 0.
        min_lr (float): lower bound of the learning rate. Default 0.

    Example:
        >>> import sampan as paddle
        >>> cb = paddle.callbacks.ReduceLROnPlateau(monitor='loss', factor=0.5, patience=2)
    """

    def __init__(self, monitor="loss", factor=0.1, patience=10, verbose=1, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0):
        super().__init__()
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1.0. Received: factor={factor}.")
        self.monitor, self.factor, self.patience, self.verbose = monitor, float(factor), int(patience), verbose
        self.min_delta, self.cooldown, self.min_lr = abs(float(min_delta)), int(cooldown), float(min_lr)
        self._maximize = _is_max_metric(monitor, mode, "ReduceLROnPlateau")
        self._reset()

    def _reset(self):
        self.best = -np.inf if self._maximize else np.inf
        self.cooldown_counter = self.wait = self.epoch = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def _better(self, current):
        return current > self.best + self.min_delta if self._maximize else current < self.best - self.min_delta

    def on_eval_end(self, logs=None):
        current = scalar_of((logs or {}).get(self.monitor))
        if current is None:
            warnings.warn(f"ReduceLROnPlateau: monitor {self.monitor!r} should be the loss or a metric name.",
                          stacklevel=2)
            return
        opt = getattr(self.model, "_optimizer", None)
        if opt is None or not isinstance(getattr(opt, "_learning_rate", None), numbers.Real):
            warnings.warn("ReduceLROnPlateau: the optimizer's learning rate must be a float (use the scheduler "
                          "paddle.optimizer.lr.ReduceOnPlateau with an LRScheduler instead).", stacklevel=2)
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._better(current):
            self.best, self.wait = current, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(opt.get_lr())
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    if hasattr(opt, "set_lr"):
                        opt.set_lr(new_lr)
                    else:
                        opt._learning_rate = new_lr
                    if self.verbose > 0:
                        print(f"Epoch {self.epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.",
                              flush=True)
                    self.cooldown_counter, self.wait = self.cooldown, 0
        self.epoch += 1


class HistoryLogger(Callback):
    """Writes one row per epoch (training logs, ``eval_*`` logs, learning rate, time) to CSV or JSON Lines.

    The file is rewritten atomically after every epoch and evaluation, so it is always complete.

    Args:
        path (str): the file; ``.csv`` writes CSV, anything else JSON Lines (unless ``format`` says).
        format (str, optional): ``'csv'`` or ``'jsonl'``.

    Example:
        >>> import sampan as paddle
        >>> history = paddle.callbacks.HistoryLogger("history.csv")
    """

    def __init__(self, path, format=None):
        super().__init__()
        self.path = os.fspath(path)
        fmt = format or ("csv" if self.path.lower().endswith(".csv") else "jsonl")
        if fmt not in ("csv", "jsonl"):
            raise ValueError(f"HistoryLogger: format must be 'csv' or 'jsonl'. Received: {format!r}.")
        self.format = fmt
        self.rows = []
        self._t0 = None

    @staticmethod
    def _plain(v):
        s = scalar_of(v)
        if s is not None:
            return s
        if isinstance(v, (list, tuple)):
            return [HistoryLogger._plain(x) for x in v]
        return v if isinstance(v, (str, bool, type(None))) else str(v)

    def on_train_begin(self, logs=None):
        self.rows, self._t0 = [], time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch}
        for k, v in (logs or {}).items():
            if k not in ("step", "batch_size"):
                row[k] = self._plain(v)
        opt = getattr(self.model, "_optimizer", None)
        if opt is not None and hasattr(opt, "get_lr"):
            row["lr"] = float(opt.get_lr())
        row["epoch_time_s"] = round(time.perf_counter() - self._epoch_t0, 6)
        self.rows.append(row)
        self._write()

    def on_eval_end(self, logs=None):
        if not self.rows or self._t0 is None:  # evaluate() outside fit
            return
        for k, v in (logs or {}).items():
            if k not in ("step", "batch_size"):
                self.rows[-1]["eval_" + k] = self._plain(v)
        self._write()

    def _write(self):
        from ..formats.atomic import atomic_write_bytes
        if self.format == "jsonl":
            text = "".join(json.dumps(r) + "\n" for r in self.rows)
        else:
            import csv
            import io
            cols = []
            for r in self.rows:
                cols.extend(k for k in r if k not in cols)
            buf = io.StringIO()
            w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
            w.writeheader()
            for r in self.rows:
                w.writerow({k: (json.dumps(v) if isinstance(v, list) else v) for k, v in r.items()})
            text = buf.getvalue()
        atomic_write_bytes(self.path, text.encode("utf-8"), fsync=False)


class CSVLogger(HistoryLogger):
    """``HistoryLogger`` writing CSV."""

    def __init__(self, path):
        super().__init__(path, format="csv")


class JSONLLogger(HistoryLogger):
    """``HistoryLogger`` writing JSON Lines."""

    def __init__(self, path):
        super().__init__(path, format="jsonl")


def config_callbacks(callbacks=None, model=None, batch_size=None, epochs=None, steps=None, log_freq=2, verbose=2,
                     save_freq=1, save_dir=None, metrics=None, mode="train", do_eval=False):
    """The callbacks of one fit/evaluate/predict: the user's, plus ProgBarLogger, ModelCheckpoint and
    LRScheduler when absent (as Paddle adds them)."""
    cbks = callbacks or []
    cbks = list(cbks) if isinstance(cbks, (list, tuple)) else [cbks]
    for c in cbks:
        if not isinstance(c, Callback):
            raise TypeError(f"callbacks must be paddle.callbacks.Callback instances. Received: {type(c).__name__}.")
    if not any(isinstance(k, ProgBarLogger) for k in cbks) and verbose:
        cbks = [ProgBarLogger(log_freq, verbose=verbose)] + cbks
    if mode == "train":
        if not any(isinstance(k, ModelCheckpoint) for k in cbks):
            cbks = cbks + [ModelCheckpoint(save_freq, save_dir, verbose=verbose)]
        for k in cbks:
            if isinstance(k, EarlyStopping) and k.save_dir is None:
                k.save_dir = save_dir
        if not any(isinstance(k, LRScheduler) for k in cbks):
            cbks = cbks + [LRScheduler()]
    cbk_list = CallbackList(cbks)
    cbk_list.set_model(model)
    params = {"batch_size": batch_size, "epochs": epochs, "steps": steps, "verbose": verbose,
              "metrics": (metrics or []) if mode != "predict" else [], "save_dir": save_dir, "do_eval": do_eval}
    cbk_list.set_params(params)
    return cbk_list
