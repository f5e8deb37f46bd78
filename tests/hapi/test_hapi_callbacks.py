"""Callbacks driven directly with constructed logs (no network needed)."""
import csv
import json

import pytest

from sampan.hapi.callbacks import (
    CallbackList, EarlyStopping, HistoryLogger, LRScheduler, ModelCheckpoint, ProgBarLogger, ReduceLROnPlateau,
    config_callbacks,
)


class FakeOptimizer:
    def __init__(self, lr):
        self._learning_rate = lr

    def get_lr(self):
        lr = self._learning_rate
        return lr if isinstance(lr, float) else lr.last_lr

    def set_lr(self, value):
        self._learning_rate = float(value)


class FakeScheduler:
    def __init__(self):
        self.steps, self.last_lr = 0, 0.1

    def step(self):
        self.steps += 1


class FakeModel:
    def __init__(self, lr=0.1):
        self.stop_training = False
        self.saved = []
        self._optimizer = FakeOptimizer(lr)

    def save(self, path, training=True):
        self.saved.append(path)


def _run_eval_curve(cb, curve, params=None):
    """Feed ``curve`` to ``cb`` as one evaluation per epoch; returns the epoch at which training stops."""
    model = FakeModel()
    cbks = CallbackList([cb])
    cbks.set_model(model)
    cbks.set_params(params or {"save_dir": None})
    cbks.on_begin("train")
    for epoch, value in enumerate(curve):
        cbks.on_epoch_begin(epoch)
        cbks.on_epoch_end(epoch, {"loss": [9.9]})
        cbks.on_begin("eval", {"steps": 1, "metrics": ["loss"]})
        cbks.on_end("eval", {"loss": [value], "acc": 1.0 - value})
        if model.stop_training:
            return epoch, model
    return None, model


def test_early_stopping_min_delta_and_patience():
    # 1.0 -> 0.8 improves; 0.85 does not (wait 1); 0.79 is not better than 0.8 by min_delta=0.02 (wait 2): stop.
    cb = EarlyStopping(monitor="loss", patience=2, min_delta=0.02, verbose=0, save_best_model=False)
    stopped, _ = _run_eval_curve(cb, [1.0, 0.8, 0.85, 0.79, 0.5, 0.4])
    assert stopped == 3 and cb.best_value == pytest.approx(0.8) and cb.best_epoch == 1
    # without min_delta 0.79 is an improvement: stops two evaluations after it, at 0.9
    cb = EarlyStopping(monitor="loss", patience=2, verbose=0, save_best_model=False)
    stopped, _ = _run_eval_curve(cb, [1.0, 0.8, 0.85, 0.79, 0.9, 0.95, 0.1])
    assert stopped == 5 and cb.best_epoch == 3


def test_early_stopping_patience_zero_max_mode_baseline_and_best_model():
    cb = EarlyStopping(monitor="acc", patience=0, verbose=0, save_best_model=True)   # 'acc' -> max
    stopped, model = _run_eval_curve(cb, [0.5, 0.4, 0.45], params={"save_dir": "ckpt"})
    # acc = 1 - loss: 0.5, 0.6 improve; 0.55 does not -> stop at epoch 2
    assert stopped == 2 and cb.best_value == pytest.approx(0.6)
    assert model.saved == ["ckpt/best_model", "ckpt/best_model"]
    cb = EarlyStopping(monitor="loss", patience=1, baseline=0.5, verbose=0, save_best_model=False)
    stopped, _ = _run_eval_curve(cb, [0.6, 0.55, 0.3])
    assert stopped == 0  # never beat the baseline


def test_early_stopping_warns_on_unknown_monitor():
    cb = EarlyStopping(monitor="f1", verbose=0)
    with pytest.warns(UserWarning, match="monitor 'f1'"):
        stopped, _ = _run_eval_curve(cb, [0.3])
    assert stopped is None


def test_model_checkpoint_periodic_final_and_best():
    cb = ModelCheckpoint(save_freq=2, save_dir="out", monitor="loss", verbose=0)
    stopped, model = _run_eval_curve(cb, [0.9, 0.7, 0.8, 0.6, 0.65], params={"save_dir": "out", "do_eval": True})
    cb.on_train_end({})
    assert stopped is None
    periodic = [p for p in model.saved if p[len("out/"):].isdigit()]
    assert periodic == ["out/0", "out/2", "out/4"]
    assert model.saved[-1] == "out/final"
    assert model.saved.count("out/best_model") == 3          # epochs 0, 1 and 3 improved
    assert cb.best == pytest.approx(0.6) and cb.best_epoch == 3


def test_model_checkpoint_best_on_training_logs_without_eval():
    cb = ModelCheckpoint(save_dir="out", monitor="loss", verbose=0)
    model = FakeModel()
    cb.set_model(model)
    cb.set_params({"do_eval": False})
    cb.on_train_begin()
    for epoch, v in enumerate([0.5, 0.7, 0.4]):
        cb.on_epoch_begin(epoch)
        cb.on_epoch_end(epoch, {"loss": [v]})
    assert cb.best_epoch == 2 and model.saved.count("out/best_model") == 2


def test_lr_scheduler_callback_steps_by_batch_or_epoch():
    model = FakeModel(lr=FakeScheduler())
    by_step = LRScheduler()
    by_step.set_model(model)
    for s in range(5):
        by_step.on_train_batch_end(s)
    by_step.on_epoch_end(0)
    assert model._optimizer._learning_rate.steps == 5
    model = FakeModel(lr=FakeScheduler())
    by_epoch = LRScheduler(by_step=False, by_epoch=True)
    by_epoch.set_model(model)
    by_epoch.on_train_batch_end(0)
    by_epoch.on_epoch_end(0)
    assert model._optimizer._learning_rate.steps == 1
    with pytest.raises(ValueError, match="mutually exclusive"):
        LRScheduler(by_step=True, by_epoch=True)
    float_lr = FakeModel(lr=0.1)
    by_step.set_model(float_lr)
    by_step.on_train_batch_end(0)  # a float learning rate is left alone
    assert float_lr._optimizer._learning_rate == 0.1


def test_reduce_lr_on_plateau():
    cb = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2, min_delta=0.0, cooldown=1, min_lr=0.02,
                           verbose=0)
    model = FakeModel(lr=0.1)
    cb.set_model(model)
    cb.on_train_begin()
    lrs = []
    for v in [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]:
        cb.on_eval_end({"loss": [v]})
        lrs.append(model._optimizer._learning_rate)
    # improve; wait 1; wait 2 -> 0.05 with cooldown 1; the cooldown expires on this evaluation, which then
    # counts as wait 1; wait 2 -> 0.025; again wait 1; wait 2 -> max(0.0125, min_lr) = 0.02; wait 1
    assert lrs == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02])
    with pytest.raises(ValueError, match="factor must be < 1.0"):
        ReduceLROnPlateau(factor=1.5)


def test_history_logger_csv_and_jsonl(tmp_path):
    for name in ("h.csv", "h.jsonl"):
        cb = HistoryLogger(str(tmp_path / name))
        model = FakeModel(lr=0.1)
        cb.set_model(model)
        cb.on_train_begin()
        for epoch, (tr, ev) in enumerate([(0.9, 0.8), (0.7, 0.75)]):
            cb.on_epoch_begin(epoch)
            cb.on_epoch_end(epoch, {"loss": [tr], "acc": 0.5 + epoch / 10, "step": 3, "batch_size": 4})
            cb.on_eval_end({"loss": [ev], "acc": 0.4})
        text = (tmp_path / name).read_text()
        if name.endswith(".csv"):
            rows = list(csv.DictReader(text.splitlines()))
            assert [float(r["loss"]) for r in rows] == [0.9, 0.7]
            assert [float(r["eval_loss"]) for r in rows] == [0.8, 0.75]
            assert rows[1]["epoch"] == "1" and float(rows[0]["lr"]) == 0.1 and "step" not in rows[0]
        else:
            rows = [json.loads(line) for line in text.splitlines()]
            assert [r["eval_acc"] for r in rows] == [0.4, 0.4] and rows[1]["acc"] == pytest.approx(0.6)


def test_progbar_logger_prints_epochs_steps_loss_and_metrics(capsys):
    cb = ProgBarLogger(log_freq=2, verbose=2)
    cb.set_params({"epochs": 2, "steps": 4, "metrics": ["loss", "acc"], "verbose": 2})
    cb.on_train_begin()
    for epoch in range(2):
        cb.on_epoch_begin(epoch)
        for step in range(4):
            cb.on_train_batch_end(step, {"loss": [1.0 / (step + 1)], "acc": 0.25 * step, "step": step,
                                         "batch_size": 8})
        cb.on_epoch_end(epoch, {"loss": [0.25], "acc": 0.75})
    cb.on_eval_begin({"steps": 1, "metrics": ["loss", "acc"]})
    cb.on_eval_batch_end(0, {"loss": [0.5], "acc": 0.5, "batch_size": 16})
    cb.on_eval_end({"loss": [0.5], "acc": 0.5})
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "step 2/4 - loss: 0.5000 - acc: 0.2500 -" in out
    assert "step 4/4 - loss: 0.2500 - acc: 0.7500 -" in out
    assert "/step" in out and "Eval begin..." in out and "Eval samples: 16" in out
    quiet = ProgBarLogger(verbose=0)
    quiet.set_params({"epochs": 1, "steps": 1, "metrics": ["loss"]})
    quiet.on_train_begin()
    quiet.on_epoch_begin(0)
    quiet.on_train_batch_end(0, {"loss": [1.0]})
    quiet.on_epoch_end(0, {"loss": [1.0]})
    assert capsys.readouterr().out == ""


def test_config_callbacks_adds_paddles_defaults():
    es = EarlyStopping(verbose=0)
    cbks = config_callbacks([es], model=FakeModel(), epochs=1, steps=1, verbose=1, save_dir="d")
    kinds = [type(c).__name__ for c in cbks]
    assert kinds == ["ProgBarLogger", "EarlyStopping", "ModelCheckpoint", "LRScheduler"]
    assert es.save_dir == "d"
    assert [type(c).__name__ for c in config_callbacks(None, verbose=0, mode="eval")] == []
    with pytest.raises(TypeError, match="Callback instances"):
        config_callbacks([object()])
