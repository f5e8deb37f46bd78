"""``paddle.Model``: training, evaluation, prediction and checkpoints of a network in a few calls.

``Model(network, inputs, labels)`` wraps a Layer; ``prepare(optimizer, loss, metrics)`` configures
it; ``fit`` / ``evaluate`` / ``predict`` loop over a Dataset or DataLoader calling
``train_batch`` / ``eval_batch`` / ``predict_batch`` and the callbacks. ``save(path)`` writes
``path.pdparams`` + ``path.pdopt`` through ``sampan.save``; ``save(path, training=False)`` exports
an inference model through ``sampan.jit.save``; ``load(path)`` restores both, so that training
resumed in a new process continues exactly where it stopped.

Differences from Paddle, on purpose:

* ``evaluate()['loss']`` is the mean loss over the evaluation set (weighted by batch size); Paddle
  reports the last batch's loss. It stays a one-element list per loss, as in Paddle.
* A checkpoint pair is committed ``.pdparams`` last: both files are written to temporary names
  first, so a crash leaves either the complete new pair or no ``.pdparams`` at that path, never a
  new ``.pdparams`` beside an old ``.pdopt``.
* ``load`` reports every missing or mismatched key at once, and when the optimizer state was saved
  for parameters with other unique names (a second Model in the same process), it renames the
  accumulators through the file's structured-name table instead of silently not restoring them.
"""
from __future__ import annotations

import inspect
import numbers
import os
import warnings

import numpy as np

from .callbacks import EarlyStopping, config_callbacks
from ..metric.metrics import Metric

__all__ = ["Model"]

_NAME_TABLE_KEY = "StructuredToParameterName@@"


def _to_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _flatten(nested):
    out = []
    for item in nested:
        if isinstance(item, (list, tuple)):
            out.extend(_flatten(item))
        else:
            out.append(item)
    return out


def _to_numpy(x):
    if hasattr(x, "numpy") and callable(x.numpy):
        return np.array(x.numpy())
    return np.asarray(x)


def _to_tensor(x):
    from ..core.tensor import Tensor
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return Tensor(x)
    from ..tensor_api.creation import to_tensor
    return to_tensor(x)


def _batch_size_of(data):
    if not data:
        return 0
    shape = getattr(data[0], "shape", None)
    shape = shape() if callable(shape) else shape
    return int(shape[0]) if shape else 1


def _len_or_none(loader):
    try:
        return len(loader)
    except Exception:  # noqa: BLE001 - iterable loaders without a length
        return None


def _is_dataset(data):
    from ..io import Dataset
    return isinstance(data, Dataset)


def _spec_from(x, i, who):
    from ..static.input import InputSpec
    if isinstance(x, InputSpec):
        return x
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        shape = x.shape() if callable(x.shape) else x.shape
        return InputSpec(list(shape), getattr(x.dtype, "name", str(x.dtype)), getattr(x, "_name", None))
    raise TypeError(f"Model: {who}[{i}] must be a paddle.static.InputSpec (or an example Tensor). "
                    f"Received: {type(x).__name__}.")


class Model:
    """A network with its optimizer, loss and metrics, trained and evaluated in a few calls.

    Args:
        network (Layer): the network.
        inputs (InputSpec | list[InputSpec] | dict, optional): the network's inputs; needed to export
            an inference model before any data was seen, and to split batches into inputs and labels.
            By default one input per argument of ``network.forward``.
        labels (InputSpec | list[InputSpec], optional): the labels (the rest of each batch).

    Example:
        >>> import numpy as np
        >>> import sampan as paddle
        >>> from sampan.static import InputSpec
        >>> net = paddle.nn.Linear(4, 2)
        >>> model = paddle.Model(net, inputs=[InputSpec([None, 4], 'float32', 'x')],
        ...                      labels=[InputSpec([None, 1], 'int64', 'label')])
        >>> model.prepare(paddle.optimizer.SGD(0.1, parameters=model.parameters()),
        ...               paddle.nn.CrossEntropyLoss(), paddle.metric.Accuracy())
        >>> data = paddle.io.TensorDataset([np.random.rand(8, 4).astype('float32'),
        ...                                 np.random.randint(0, 2, (8, 1)).astype('int64')])
        >>> model.fit(data, batch_size=4, epochs=1, verbose=0)
        >>> sorted(model.evaluate(data, batch_size=4, verbose=0))
        ['acc', 'loss']
    """

    def __init__(self, network, inputs=None, labels=None):
        if not hasattr(network, "parameters") or not callable(network):
            raise TypeError(f"Model: network must be a paddle.nn.Layer. Received: {type(network).__name__}.")
        self.network = network
        self.mode = "train"
        self._inputs_given = inputs is not None
        self._inputs = self._verify_spec(inputs, is_input=True)
        self._labels = self._verify_spec(labels, is_input=False)
        self._loss = None
        self._optimizer = None
        self._metrics = []
        self._input_info = None
        self._accumulate = 1
        self.num_iters = None
        self.stop_training = False

    # ------------------------------------------------------------------ configuration
    def _verify_spec(self, specs, is_input):
        if specs is None:
            if not is_input:
                return []
            return self._specs_from_forward()
        if isinstance(specs, dict):
            items = list(specs.values())
            for i, s in enumerate(items):
                if getattr(s, "name", None) is None:
                    raise ValueError(f"Model: inputs given as a dict need named InputSpecs; item {i} has no name.")
        else:
            items = _to_list(specs)
        return [_spec_from(s, i, "inputs" if is_input else "labels") for i, s in enumerate(items)]

    def _specs_from_forward(self):
        """One float32 spec of unknown shape per positional argument of ``forward`` (Paddle's default)."""
        from ..static.input import InputSpec
        try:
            sig = inspect.signature(self.network.forward)
        except (TypeError, ValueError):
            return None
        names = []
        for p in sig.parameters.values():
            if p.kind == p.VAR_POSITIONAL:
                return None           # unknown count: all of a batch minus the labels are inputs
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                names.append(p.name)
        return [InputSpec([None], "float32", n) for n in names]

    def prepare(self, optimizer=None, loss=None, metrics=None, amp_configs=None):
        """Set the optimizer, the loss (a Layer or callable ``loss(*outputs, *labels)``) and the metrics.

        Args:
            optimizer (Optimizer, optional): needed by ``fit``/``train_batch``.
            loss (Layer | callable, optional): needed by ``fit``; optional for ``evaluate``.
            metrics (Metric | list[Metric], optional): evaluated in ``fit`` and ``evaluate``.
            amp_configs: only None / ``'O0'`` (no mixed precision on sampan's CPU backend).
        """
        if optimizer is not None and not callable(getattr(optimizer, "step", None)):
            raise TypeError(f"Model.prepare: optimizer must be a paddle.optimizer.Optimizer. "
                            f"Received: {type(optimizer).__name__}.")
        if loss is not None and not callable(loss):
            raise TypeError(f"Model.prepare: loss must be a paddle.nn.Layer or a callable. "
                            f"Received: {type(loss).__name__}.")
        metrics = _to_list(metrics)
        for m in metrics:
            if not isinstance(m, Metric):
                raise TypeError(f"Model.prepare: every metric must be a paddle.metric.Metric. "
                                f"Received: {type(m).__name__}.")
        level = amp_configs.get("level", "O0") if isinstance(amp_configs, dict) else amp_configs
        if level not in (None, "O0"):
            raise NotImplementedError(f"Model.prepare: amp_configs={amp_configs!r}: automatic mixed precision is not "
                                      f"available on sampan's NumPy CPU backend; use None or 'O0'.")
        self._optimizer, self._loss, self._metrics = optimizer, loss, metrics

    def parameters(self, *args, **kwargs):
        """The network's parameters (``network.parameters()``)."""
        return self.network.parameters(*args, **kwargs)

    def _metrics_name(self):
        names = ["loss"] if self._loss is not None else []
        for m in self._metrics:
            names.extend(_to_list(m.name()))
        return names

    def _n_inputs(self, data):
        if self._inputs is not None:
            return len(self._inputs)
        return max(0, len(data) - len(self._labels))

    # ------------------------------------------------------------------ one batch
    def _record_inputs(self, inputs):
        self._input_info = ([list(t.shape) for t in inputs], [t.dtype for t in inputs])

    def _forward(self, inputs):
        inputs = [_to_tensor(x) for x in _to_list(inputs)]
        self._record_inputs(inputs)
        return _to_list(self.network(*inputs))

    def _update_metrics(self, outputs, labels):
        results = []
        for m in self._metrics:
            outs = _to_list(m.compute(*(outputs + labels)))
            results.append(m.update(*[_to_numpy(o) for o in outs]))
        return results

    def _check_ready(self, who, optimizer=False, loss=False):
        if optimizer and self._optimizer is None:
            raise RuntimeError(f"Model.{who}: no optimizer. Call model.prepare(optimizer, loss, metrics) first.")
        if loss and self._loss is None:
            raise RuntimeError(f"Model.{who}: no loss. Call model.prepare(optimizer, loss, metrics) first.")

    def _step_optimizer(self):
        self._optimizer.step()
        if hasattr(self.network, "clear_gradients"):
            self.network.clear_gradients()
        else:
            self._optimizer.clear_grad()

    def train_batch(self, inputs, labels=None, update=True):
        """Forward, backward and (when ``update``) one optimizer step on one batch.

        Returns:
            list[ndarray] of the losses, or ``(losses, metrics)`` when metrics are prepared.
        """
        self._check_ready("train_batch", optimizer=True, loss=True)
        self.network.train()
        self.mode = "train"
        labels = [_to_tensor(x) for x in _to_list(labels)]
        outputs = self._forward(inputs)
        losses = _to_list(self._loss(*(outputs + labels)))
        final = losses[0]
        for extra in losses[1:]:
            final = final + extra
        final.backward()
        if update:
            self._step_optimizer()
        metrics = self._update_metrics(outputs, labels)
        loss_values = [_to_numpy(v) for v in losses]
        return (loss_values, metrics) if metrics else loss_values

    def eval_batch(self, inputs, labels=None):
        """Forward (no gradient) and metric update on one batch; returns losses and/or metrics."""
        from ..core.tensor import no_grad
        self.network.eval()
        self.mode = "eval"
        with no_grad():
            labels = [_to_tensor(x) for x in _to_list(labels)]
            outputs = self._forward(inputs)
            losses = _to_list(self._loss(*(outputs + labels))) if self._loss is not None else []
            metrics = self._update_metrics(outputs, labels)
        loss_values = [_to_numpy(v) for v in losses]
        if self._loss is not None and metrics:
            return loss_values, metrics
        return loss_values if self._loss is not None else metrics

    def predict_batch(self, inputs):
        """The network's outputs (list of ndarrays) for one batch, in eval mode without gradient."""
        from ..core.tensor import no_grad
        self.network.eval()
        self.mode = "test"
        with no_grad():
            outputs = self._forward(inputs)
        return [_to_numpy(o) for o in outputs]

    # ------------------------------------------------------------------ loops
    def _loader(self, data, batch_size, shuffle, drop_last, num_workers, who):
        from ..io import DataLoader, IterableDataset
        if data is None:
            raise ValueError(f"Model.{who}: no data given.")
        if _is_dataset(data):
            return DataLoader(data, batch_size=batch_size, shuffle=shuffle and not isinstance(data, IterableDataset),
                              drop_last=drop_last, num_workers=num_workers)
        if not hasattr(data, "__iter__") and not callable(data):
            raise TypeError(f"Model.{who}: data must be a paddle.io.Dataset or a DataLoader / iterable of batches. "
                            f"Received: {type(data).__name__}.")
        return data

    def _run_one_epoch(self, loader, callbacks, mode, max_steps=None):
        """One pass over ``loader``; returns the last logs (and the outputs when predicting)."""
        for m in self._metrics:
            m.reset()
        logs, outputs = {}, []
        loss_sums, seen = None, 0
        steps = _len_or_none(loader)
        if max_steps is not None:
            steps = max_steps if steps is None else min(steps, max_steps)
        pending = False
        for step, data in enumerate(loader):
            if max_steps is not None and step >= max_steps:
                break
            data = _flatten(_to_list(data))
            bs = _batch_size_of(data)
            callbacks.on_batch_begin(mode, step, logs)
            n_in = self._n_inputs(data)
            if mode == "predict":
                outputs.append(self.predict_batch(data[:n_in]))
            else:
                if mode == "train":
                    update = (step + 1) % self._accumulate == 0 or (steps is not None and step + 1 == steps)
                    outs = self.train_batch(data[:n_in], data[n_in:], update=update)
                    pending = not update
                else:
                    outs = self.eval_batch(data[:n_in], data[n_in:])
                losses = (outs[0] if self._metrics else outs) if self._loss is not None else []
                values = [float(np.mean(v)) for v in losses]
                if mode == "eval" and values:   # running mean over the set, weighted by batch size
                    loss_sums = [s + v * bs for s, v in zip(loss_sums or [0.0] * len(values), values)]
                    seen += bs
                    values = [s / seen for s in loss_sums]
                results = [values] if self._loss is not None else []
                for m in self._metrics:
                    results.extend(_to_list(m.accumulate()))
                logs.update(zip(self._metrics_name(), results))
            logs["step"], logs["batch_size"] = step, bs
            callbacks.on_batch_end(mode, step, logs)
        if pending:  # the stream ended inside an accumulation window: apply what was accumulated
            self._step_optimizer()
        for m in self._metrics:
            m.reset()
        return (logs, outputs) if mode == "predict" else logs

    def fit(self, train_data=None, eval_data=None, batch_size=1, epochs=1, eval_freq=1, log_freq=10, save_dir=None,
            save_freq=1, verbose=2, drop_last=False, shuffle=True, num_workers=0, callbacks=None,
            accumulate_grad_batches=1, num_iters=None):
        """Train for ``epochs`` epochs, evaluating every ``eval_freq`` epochs and checkpointing to ``save_dir``.

        Args:
            train_data (Dataset | DataLoader): training batches (inputs then labels).
            eval_data (Dataset | DataLoader, optional): evaluated after epochs 0, eval_freq, 2*eval_freq, ...
            batch_size (int): batch size when a Dataset is given. Default 1.
            epochs (int): number of epochs. Default 1.
            eval_freq (int): evaluate every ``eval_freq`` epochs. Default 1.
            log_freq (int): progress-bar update frequency in steps. Default 10.
            save_dir (str, optional): write ``save_dir/<epoch>.pdparams/.pdopt`` every ``save_freq`` epochs
                and ``save_dir/final.*`` at the end.
            save_freq (int): checkpoint frequency in epochs. Default 1.
            verbose (int): 0 silent, 1 progress bar, 2 one line per log. Default 2.
            drop_last, shuffle, num_workers: for the DataLoader built from a Dataset.
            callbacks (Callback | list[Callback], optional): more callbacks.
            accumulate_grad_batches (int): optimizer step every that many batches. Default 1.
            num_iters (int, optional): stop after that many training steps in all.
        """
        self._check_ready("fit", optimizer=True, loss=True)
        for name, v in (("epochs", epochs), ("eval_freq", eval_freq), ("save_freq", save_freq),
                        ("accumulate_grad_batches", accumulate_grad_batches), ("batch_size", batch_size)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
                raise ValueError(f"Model.fit: {name} must be a positive integer. Received: {name}={v!r}.")
        if num_iters is not None and (not isinstance(num_iters, numbers.Integral) or num_iters <= 0):
            raise ValueError(f"Model.fit: num_iters must be a positive integer. Received: num_iters={num_iters!r}.")
        train_loader = self._loader(train_data, batch_size, shuffle, drop_last, num_workers, "fit")
        eval_loader = None if eval_data is None else self._loader(eval_data, batch_size, False, False, num_workers,
                                                                  "fit")
        self._accumulate, self.num_iters = int(accumulate_grad_batches), num_iters
        steps = _len_or_none(train_loader)
        if num_iters is not None and steps:
            epochs = -(-num_iters // steps)
            steps = min(num_iters, steps)
        cbks = config_callbacks(callbacks, model=self, batch_size=batch_size, epochs=epochs, steps=steps,
                                log_freq=log_freq, verbose=verbose, save_freq=save_freq, save_dir=save_dir,
                                metrics=self._metrics_name(), do_eval=eval_loader is not None)
        if eval_loader is None and any(isinstance(k, EarlyStopping) for k in cbks):
            warnings.warn("Model.fit: EarlyStopping watches evaluation results, but no eval_data was given.",
                          stacklevel=2)
        self.stop_training = False
        self._fit_loop(train_loader, eval_loader, cbks, epochs, eval_freq, num_iters)

    def _fit_loop(self, train_loader, eval_loader, cbks, epochs, eval_freq, num_iters):
        cbks.on_begin("train")
        logs, done = {}, 0
        for epoch in range(epochs):
            cbks.on_epoch_begin(epoch)
            left = None if num_iters is None else num_iters - done
            logs = self._run_one_epoch(train_loader, cbks, "train", max_steps=left)
            done += logs.get("step", -1) + 1
            cbks.on_epoch_end(epoch, logs)
            if eval_loader is not None and epoch % eval_freq == 0:
                cbks.on_begin("eval", {"steps": _len_or_none(eval_loader), "metrics": self._metrics_name()})
                eval_logs = self._run_one_epoch(eval_loader, cbks, "eval")
                cbks.on_end("eval", eval_logs)
            if self.stop_training or (num_iters is not None and done >= num_iters):
                break
        cbks.on_end("train", logs)

    def evaluate(self, eval_data, batch_size=1, log_freq=10, verbose=2, num_workers=0, callbacks=None,
                 num_iters=None):
        """Evaluate on ``eval_data``; returns ``{'loss': [mean loss], <metric name>: value, ...}``.

        Example:
            >>> # result = model.evaluate(eval_dataset, batch_size=32, verbose=0)
            >>> # result -> {'loss': [0.52], 'acc': 0.81}
        """
        loader = self._loader(eval_data, batch_size, False, False, num_workers, "evaluate")
        cbks = config_callbacks(callbacks, model=self, log_freq=log_freq, verbose=verbose,
                                metrics=self._metrics_name(), mode="eval")
        cbks.on_begin("eval", {"steps": _len_or_none(loader), "metrics": self._metrics_name()})
        logs = self._run_one_epoch(loader, cbks, "eval", max_steps=num_iters)
        cbks.on_end("eval", logs)
        return {k: logs[k] for k in self._metrics_name() if k in logs}

    def predict(self, test_data, batch_size=1, num_workers=0, stack_outputs=False, verbose=1, callbacks=None):
        """The network's outputs on ``test_data``: one entry per output, each a list of per-batch
        arrays, or (``stack_outputs=True``) one array concatenated over the batches."""
        loader = self._loader(test_data, batch_size, False, False, num_workers, "predict")
        cbks = config_callbacks(callbacks, model=self, verbose=verbose, mode="predict")
        cbks.on_begin("predict", {"steps": _len_or_none(loader)})
        logs, outputs = self._run_one_epoch(loader, cbks, "predict")
        per_output = [list(o) for o in zip(*outputs)]
        if stack_outputs:
            per_output = [np.concatenate(o, axis=0) if o and o[0].ndim > 0 else np.stack(o) for o in per_output]
        cbks.on_end("predict", logs)
        return per_output

    # ------------------------------------------------------------------ persistence
    def save(self, path, training=True):
        """Save for resuming training (``path.pdparams`` + ``path.pdopt``) or, with ``training=False``, an
        inference model (``path.pdmodel`` + ``path.pdiparams`` + ``path.pdiparams.info`` via ``jit.save``).

        Example:
            >>> # model.save('checkpoint/test')                  # test.pdparams, test.pdopt
            >>> # model.save('inference/test', training=False)   # test.pdmodel, test.pdiparams
        """
        if not isinstance(path, (str, os.PathLike)) or not os.path.basename(os.fspath(path)):
            raise ValueError(f"Model.save: path must be 'dirname/filename' (a file prefix). Received: {path!r}.")
        path = os.fspath(path)
        if training:
            from .checkpoint import save_checkpoint
            opt_state = self._optimizer.state_dict() if self._optimizer is not None else None
            save_checkpoint(path, self.network.state_dict(), opt_state)
        else:
            self._save_inference_model(path)

    def _inference_specs(self):
        from ..static.input import InputSpec
        if self._inputs_given:
            return self._inputs
        if self._input_info is None:
            raise RuntimeError("Model.save(training=False) needs the input shapes: give inputs=[InputSpec(...)] to "
                               "paddle.Model, or run fit/evaluate/predict once before saving.")
        shapes, dtypes = self._input_info
        names = [getattr(s, "name", None) for s in (self._inputs or [])]
        specs = [InputSpec([None] + list(shape[1:]), dt, names[i] if i < len(names) else None)
                 for i, (shape, dt) in enumerate(zip(shapes, dtypes))]
        warnings.warn(f"Model.save(training=False): inputs were not given to paddle.Model, so the inference model "
                      f"uses the shapes of the last batch seen with a dynamic batch dimension: "
                      f"{[list(s.shape) for s in specs]}.", stacklevel=3)
        return specs

    def _save_inference_model(self, path):
        from .. import jit
        jit.save(self.network, path, input_spec=self._inference_specs())

    def load(self, path, skip_mismatch=False, reset_optimizer=False):
        """Restore parameters from ``path.pdparams`` and, unless ``reset_optimizer``, the optimizer from
        ``path.pdopt`` when it exists. ``path`` may carry a ``.pdparams``/``.pdopt``/``.pdmodel`` suffix.

        Args:
            skip_mismatch (bool): skip (with one warning) parameters missing from the file or of another
                shape instead of raising; the optimizer state is then not restored.
            reset_optimizer (bool): restore the parameters only.
        """
        from .checkpoint import load_checkpoint
        load_checkpoint(self, os.fspath(path), skip_mismatch, reset_optimizer)

    def summary(self, input_size=None, dtype=None):
        """``paddle.summary`` of the network with this Model's input specs (or ``input_size``)."""
        from .summary import summary
        if input_size is None:
            if self._inputs_given:
                input_size = self._inputs
            elif self._input_info is not None:
                input_size = [tuple(s) for s in self._input_info[0]]
                dtype = dtype or [getattr(d, "name", str(d)) for d in self._input_info[1]]
            else:
                raise ValueError("Model.summary: give input_size, or inputs=[InputSpec(...)] to paddle.Model.")
        return summary(self.network, input_size, dtypes=dtype)
