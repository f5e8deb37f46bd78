"""``paddle.Model``: fit / evaluate / predict / save / load, checkpoints, callbacks in a real loop."""
import os
import subprocess
import sys

import numpy as np
import pytest

import sampan as paddle
import sampan.nn as nn
from sampan.static import InputSpec

HERE = os.path.dirname(os.path.abspath(__file__))


class Blobs(paddle.io.Dataset):
    """A fixed, learnable 3-class problem: the class is the argmax of the first 3 features."""

    def __init__(self, n=64, seed=0, with_label=True):
        rs = np.random.RandomState(seed)
        self.x = rs.standard_normal([n, 5]).astype("float32")
        self.y = np.argmax(self.x[:, :3], axis=1).astype("int64").reshape(-1, 1)
        self.with_label = with_label

    def __getitem__(self, i):
        return (self.x[i], self.y[i]) if self.with_label else (self.x[i],)

    def __len__(self):
        return len(self.x)


class Net(nn.Layer):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(5, 3)

    def forward(self, x):
        return self.fc(x)


def make(lr=0.1, metrics=True, inputs=True, loss=None, opt="adam"):
    net = Net()
    model = paddle.Model(net, inputs=[InputSpec([None, 5], "float32", "x")] if inputs else None,
                         labels=[InputSpec([None, 1], "int64", "label")] if inputs else None)
    cls = paddle.optimizer.Adam if opt == "adam" else paddle.optimizer.SGD
    optim = cls(learning_rate=lr, parameters=model.parameters())
    model.prepare(optim, loss or nn.CrossEntropyLoss(), paddle.metric.Accuracy() if metrics else None)
    return net, model, optim


def params_of(net):
    return {k: np.array(v.numpy()) for k, v in net.state_dict().items()}


def _softmax_ce(logits, labels):
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(labels)), labels.ravel()]


# ----------------------------------------------------------------------------- the loops
def test_fit_learns_and_evaluate_predict_match_the_network():
    net, model, _ = make()
    train, test = Blobs(64, seed=0), Blobs(40, seed=1)
    before = model.evaluate(test, batch_size=16, verbose=0)
    model.fit(train, batch_size=16, epochs=15, verbose=0)
    after = model.evaluate(test, batch_size=16, verbose=0)
    assert set(after) == {"loss", "acc"} and isinstance(after["loss"], list)
    assert after["loss"][0] < before["loss"][0] and after["acc"] > 0.8
    w, b = net.fc.weight.numpy(), net.fc.bias.numpy()
    logits = test.x @ w + b
    # evaluate's loss is the mean over the whole set (batches of 16, 16, 8 weighted by size)
    assert after["loss"][0] == pytest.approx(float(_softmax_ce(logits, test.y).mean()), rel=1e-5)
    assert after["acc"] == pytest.approx(float((logits.argmax(1) == test.y.ravel()).mean()))
    pred = model.predict(Blobs(40, seed=1, with_label=False), batch_size=16, stack_outputs=True, verbose=0)
    assert len(pred) == 1 and pred[0].shape == (40, 3)
    np.testing.assert_allclose(pred[0], logits, rtol=1e-5, atol=1e-6)
    per_batch = model.predict(test, batch_size=16, verbose=0)   # labels present: ignored
    assert [p.shape for p in per_batch[0]] == [(16, 3), (16, 3), (8, 3)]


def test_fit_accepts_dataloaders_and_batch_methods_return_numpy():
    net, model, _ = make()
    loader = paddle.io.DataLoader(Blobs(32), batch_size=8, shuffle=True)
    model.fit(loader, loader, epochs=2, verbose=0)
    x, y = Blobs(8).x, Blobs(8).y
    losses, metrics = model.train_batch([x], [y])
    assert isinstance(losses[0], np.ndarray) and np.isfinite(losses[0]).all() and 0.0 <= metrics[0] <= 1.0
    losses, metrics = model.eval_batch([paddle.to_tensor(x)], [paddle.to_tensor(y)])
    assert np.isfinite(losses[0]).all()
    out = model.predict_batch([x])
    assert isinstance(out[0], np.ndarray) and out[0].shape == (8, 3)
    assert model.parameters()[0] is net.fc.weight


def test_inputs_default_to_forward_arguments():
    net, model, _ = make(inputs=False, metrics=False)
    model.fit(Blobs(16), batch_size=8, epochs=1, verbose=0)
    assert set(model.evaluate(Blobs(16), batch_size=8, verbose=0)) == {"loss"}


def test_accumulate_grad_batches_steps_once_per_window():
    ds = Blobs(32)
    net, model, _ = make(lr=0.5, metrics=False, opt="sgd")
    ref_net, _, ref_opt = make(lr=0.5, metrics=False, opt="sgd")
    ref_net.set_state_dict(net.state_dict())
    model.fit(ds, batch_size=8, epochs=1, shuffle=False, accumulate_grad_batches=2, verbose=0)
    ce = nn.CrossEntropyLoss()
    for start in (0, 16):       # windows of two batches: gradients add up, then one SGD step
        for s in (start, start + 8):
            ce(ref_net(paddle.to_tensor(ds.x[s:s + 8])), paddle.to_tensor(ds.y[s:s + 8])).backward()
        ref_opt.step()
        ref_opt.clear_grad()
    for k, v in params_of(ref_net).items():
        np.testing.assert_allclose(params_of(net)[k], v, rtol=1e-6, atol=1e-7)


class CountSteps(paddle.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.steps, self.epochs, self.snapshots = 0, 0, []

    def on_train_batch_end(self, step, logs=None):
        self.steps += 1

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1
        self.snapshots.append(params_of(self.model.network))


def test_num_iters_limits_training_steps():
    _, model, _ = make()
    count = CountSteps()
    model.fit(Blobs(32), batch_size=8, epochs=10, num_iters=6, callbacks=[count], verbose=0)
    assert count.steps == 6 and count.epochs == 2


def test_progress_bar_output(capsys):
    _, model, _ = make()
    model.fit(Blobs(32), Blobs(16), batch_size=8, epochs=2, log_freq=2, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "step 4/4" in out and "loss:" in out and "acc:" in out
    assert "Eval samples: 16" in out and "/step" in out
    model.fit(Blobs(32), batch_size=8, epochs=1, verbose=0)
    model.evaluate(Blobs(16), batch_size=8, verbose=0)
    assert capsys.readouterr().out == ""


# ----------------------------------------------------------------------------- persistence
def test_save_load_round_trip_with_optimizer_state(tmp_path):
    net, model, opt = make()
    model.fit(Blobs(32), batch_size=8, epochs=2, verbose=0)
    prefix = str(tmp_path / "ckpt" / "test")
    model.save(prefix)
    assert os.path.isfile(prefix + ".pdparams") and os.path.isfile(prefix + ".pdopt")
    assert not [f for f in os.listdir(tmp_path / "ckpt") if f.startswith(".")]   # no temporary files left
    saved_params = params_of(net)
    net2, model2, opt2 = make()
    # the second network's parameters have other unique names (linear_1.* vs linear_0.*)
    assert all(a.name != b.name for a, b in zip(net.parameters(), net2.parameters()))
    model2.load(prefix + ".pdparams")          # a suffix is accepted
    for k, v in saved_params.items():
        np.testing.assert_array_equal(params_of(net2)[k], v)
    # one more step on each: equal only if the Adam moments and beta powers were restored (and renamed)
    x, y = Blobs(8, seed=5).x, Blobs(8, seed=5).y
    model.train_batch([x], [y])
    model2.train_batch([x], [y])
    for k, v in params_of(net).items():
        np.testing.assert_array_equal(params_of(net2)[k], v)
    fresh_net, fresh, _ = make()
    fresh.load(prefix, reset_optimizer=True)   # control: without the optimizer state the step differs
    fresh.train_batch([x], [y])
    assert not np.array_equal(params_of(fresh_net)["fc.weight"], params_of(net)["fc.weight"])


def test_load_errors_and_skip_mismatch(tmp_path):
    net, model, _ = make()
    prefix = str(tmp_path / "m")
    with pytest.raises(FileNotFoundError, match="m.pdparams"):
        model.load(prefix)
    model.save(prefix)

    class Wider(nn.Layer):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(5, 4)
            self.extra = nn.Linear(2, 2)

        def forward(self, x):
            return self.fc(x)

    other = paddle.Model(Wider())
    with pytest.raises(ValueError, match=r"(?s)fc.weight receives a shape \[5, 3\].*\[5, 4\].*extra.weight is not "
                                         r"found"):
        other.load(prefix)
    with pytest.warns(UserWarning, match="skipped 4 parameter"):
        other.load(prefix, skip_mismatch=True)


def test_save_without_optimizer_state_removes_a_stale_pdopt(tmp_path):
    _, model, _ = make()
    prefix = str(tmp_path / "m")
    model.fit(Blobs(16), batch_size=8, epochs=1, verbose=0)
    model.save(prefix)
    assert os.path.isfile(prefix + ".pdopt")
    fresh = paddle.Model(Net())
    fresh.save(prefix)                          # no optimizer: the old .pdopt must not pair with new params
    assert os.path.isfile(prefix + ".pdparams") and not os.path.exists(prefix + ".pdopt")


def test_fit_save_dir_writes_periodic_and_final_checkpoints(tmp_path):
    net, model, _ = make()
    d = str(tmp_path / "ckpt")
    model.fit(Blobs(32), batch_size=8, epochs=3, save_dir=d, save_freq=2, verbose=0)
    files = sorted(os.listdir(d))
    assert files == ["0.pdopt", "0.pdparams", "2.pdopt", "2.pdparams", "final.pdopt", "final.pdparams"]
    final = paddle.load(os.path.join(d, "final.pdparams"))
    for k, v in params_of(net).items():
        np.testing.assert_array_equal(np.array(final[k].numpy() if hasattr(final[k], "numpy") else final[k]), v)


def test_resume_in_a_new_process_equals_an_uninterrupted_run(tmp_path):
    script = os.path.join(HERE, "resume_script.py")
    for phase in ("full", "part1", "part2"):
        r = subprocess.run([sys.executable, script, phase, str(tmp_path)], capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, f"phase {phase} failed:\n{r.stdout}\n{r.stderr}"
    full, resumed = np.load(tmp_path / "full.npz"), np.load(tmp_path / "resumed.npz")
    assert sorted(full.files) == sorted(resumed.files) and full.files
    for k in full.files:
        assert np.array_equal(full[k], resumed[k]), (k, np.abs(full[k] - resumed[k]).max())


def test_save_inference_model_loads_with_jit(tmp_path):
    net, model, _ = make()
    model.fit(Blobs(16), batch_size=8, epochs=1, verbose=0)
    prefix = str(tmp_path / "inference" / "net")
    model.save(prefix, training=False)
    assert os.path.isfile(prefix + ".pdmodel") and os.path.isfile(prefix + ".pdiparams")
    loaded = paddle.jit.load(prefix)
    loaded.eval()
    x = Blobs(6).x
    np.testing.assert_allclose(loaded(paddle.to_tensor(x)).numpy(), net(paddle.to_tensor(x)).numpy(),
                               rtol=1e-5, atol=1e-6)
    _, no_inputs, _ = make(inputs=False)
    with pytest.raises(RuntimeError, match="needs the input shapes"):
        no_inputs.save(str(tmp_path / "x"), training=False)


# ----------------------------------------------------------------------------- callbacks in fit
class EvalCurveLoss:
    """Cross-entropy while training; during evaluation the value of a constructed curve (one per evaluation)."""

    def __init__(self, net, curve):
        self.net, self.curve, self.evals = net, curve, 0
        self.ce = nn.CrossEntropyLoss()

    def __call__(self, out, label):
        loss = self.ce(out, label)
        if self.net.training:
            return loss
        return loss * 0.0 + float(self.curve[self.evals])


class AdvanceCurve(paddle.callbacks.Callback):
    def __init__(self, loss):
        super().__init__()
        self.loss = loss

    def on_eval_end(self, logs=None):
        self.loss.evals += 1


def _fit_with_curve(tmp_path, curve, callback):
    net = Net()
    loss = EvalCurveLoss(net, curve)
    model = paddle.Model(net)
    model.prepare(paddle.optimizer.Adam(0.05, parameters=net.parameters()), loss)
    count = CountSteps()
    model.fit(Blobs(32), Blobs(8), batch_size=8, epochs=len(curve), save_dir=str(tmp_path), verbose=0,
              callbacks=[count, callback, AdvanceCurve(loss)])
    return net, count


def test_early_stopping_stops_at_the_right_epoch_and_keeps_the_best_model(tmp_path):
    curve = [1.0, 0.8, 0.85, 0.9, 0.7, 0.6]     # best at epoch 1; two evaluations without improvement -> stop
    stop = paddle.callbacks.EarlyStopping("loss", mode="min", patience=2, verbose=0, save_best_model=True)
    net, count = _fit_with_curve(tmp_path, curve, stop)
    assert count.epochs == 4                      # epochs 0..3 ran, 4 and 5 did not
    best = paddle.load(os.path.join(str(tmp_path), "best_model.pdparams"))
    for k, v in count.snapshots[1].items():
        np.testing.assert_array_equal(np.array(best[k].numpy() if hasattr(best[k], "numpy") else best[k]), v)
    assert not np.array_equal(count.snapshots[1]["fc.weight"], count.snapshots[3]["fc.weight"])


def test_model_checkpoint_keeps_the_best_model_by_the_monitored_metric(tmp_path):
    curve = [0.9, 0.5, 0.7, 0.4, 0.6]
    ckpt = paddle.callbacks.ModelCheckpoint(save_freq=10, save_dir=str(tmp_path), monitor="loss", verbose=0)
    net, count = _fit_with_curve(tmp_path, curve, ckpt)
    assert count.epochs == 5 and ckpt.best_epoch == 3 and ckpt.best == pytest.approx(0.4)
    best = paddle.load(os.path.join(str(tmp_path), "best_model.pdparams"))
    for k, v in count.snapshots[3].items():
        np.testing.assert_array_equal(np.array(best[k].numpy() if hasattr(best[k], "numpy") else best[k]), v)
    assert sorted(os.listdir(tmp_path)) == ["0.pdopt", "0.pdparams", "best_model.pdopt", "best_model.pdparams",
                                            "final.pdopt", "final.pdparams"]


def test_history_logger_in_fit(tmp_path):
    _, model, _ = make()
    path = str(tmp_path / "history.jsonl")
    model.fit(Blobs(32), Blobs(16), batch_size=8, epochs=2, verbose=0,
              callbacks=[paddle.callbacks.HistoryLogger(path)])
    import json
    rows = [json.loads(line) for line in open(path)]
    assert [r["epoch"] for r in rows] == [0, 1]
    assert all({"loss", "acc", "eval_loss", "eval_acc", "lr"} <= set(r) for r in rows)


# ----------------------------------------------------------------------------- summary
def test_summary_counts_parameters():
    class Two(nn.Layer):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(784, 10)
            self.b = nn.Linear(10, 4)
            self.b.weight.stop_gradient = True

        def forward(self, x):
            return self.b(self.a(x))

    info = paddle.summary(Two(), (None, 784))
    assert info == {"total_params": 784 * 10 + 10 + 10 * 4 + 4, "trainable_params": 784 * 10 + 10 + 4}
    net = Net()
    net.train()
    model = paddle.Model(net, inputs=[InputSpec([None, 5], "float32", "x")])
    assert model.summary() == {"total_params": 18, "trainable_params": 18}
    assert net.training                            # summary does not leave the network in eval mode


def test_a_failed_checkpoint_save_keeps_the_previous_pair(tmp_path, monkeypatch):
    net, model, _ = make()
    model.fit(Blobs(16), batch_size=8, epochs=1, verbose=0)
    prefix = str(tmp_path / "m")
    model.save(prefix)
    before = {ext: open(prefix + ext, "rb").read() for ext in (".pdparams", ".pdopt")}
    model.fit(Blobs(16), batch_size=8, epochs=1, verbose=0)     # new values to save
    real_save, calls = paddle.save, []

    def crashing_save(obj, path, *a, **k):
        calls.append(path)
        if len(calls) == 2:                                      # the optimizer file: "crash" mid-checkpoint
            raise OSError("disk full")
        return real_save(obj, path, *a, **k)

    monkeypatch.setattr(paddle, "save", crashing_save)
    with pytest.raises(OSError, match="disk full"):
        model.save(prefix)
    assert {ext: open(prefix + ext, "rb").read() for ext in (".pdparams", ".pdopt")} == before
    assert sorted(os.listdir(tmp_path)) == ["m.pdopt", "m.pdparams"]   # no pending files left behind


def test_save_removes_pending_files_of_dead_writers_only(tmp_path):
    import subprocess
    import sys
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = tmp_path / f".m.sampan-pending-{dead}-abcd.pdparams"          # a writer killed mid-checkpoint
    live = tmp_path / f".m.sampan-pending-{os.getpid()}-ef01.pdopt"      # one still running (this process)
    other = tmp_path / f".n.sampan-pending-{dead}-abcd.pdparams"          # another checkpoint's
    for p in (stale, live, other):
        p.write_bytes(b"partial")
    net, model, _ = make()
    model.save(str(tmp_path / "m"))
    assert not stale.exists() and live.exists() and other.exists()


def test_fit_with_worker_processes_equals_fit_in_process():
    results = []
    for nw in (0, 2):
        paddle.seed(3)
        net, model, _ = make()
        model.fit(Blobs(40), batch_size=8, epochs=2, shuffle=True, num_workers=nw, verbose=0)
        results.append(params_of(net))
    for k in results[0]:
        np.testing.assert_array_equal(results[0][k], results[1][k])


def test_evaluate_with_metrics_only_and_early_stopping_without_eval_data_warns():
    net = Net()
    model = paddle.Model(net)
    model.prepare(metrics=paddle.metric.Accuracy())
    assert set(model.evaluate(Blobs(16), batch_size=8, verbose=0)) == {"acc"}
    _, model, _ = make()
    with pytest.warns(UserWarning, match="no eval_data"):
        model.fit(Blobs(16), batch_size=8, epochs=1, verbose=0, callbacks=[paddle.callbacks.EarlyStopping()])
    with pytest.raises(RuntimeError, match="no optimizer"):
        paddle.Model(Net()).fit(Blobs(16))
