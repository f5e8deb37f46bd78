"""The static graph: building, running, static autodiff, program files (guide 2.2, issue 5)."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import sampan as paddle
from sampan import static


@pytest.fixture
def static_mode():
    paddle.enable_static()
    yield
    paddle.disable_static()


def _fc_program():
    main, startup = static.Program(), static.Program()
    with static.program_guard(main, startup):
        x = static.data(name="x", shape=[None, 6], dtype="float32")
        z = static.nn.fc(x, 3)
    return main, startup, x, z


def test_fc_builds_paddle_ops_and_names(static_mode):
    main, startup, x, z = _fc_program()
    ops = [o.type for o in main.global_block().ops]
    assert ops == ["mul", "elementwise_add"]
    add = main.global_block().ops[1]
    assert add.attrs["axis"] == 1
    assert sorted(p.name for p in main.all_parameters()) == ["fc_0.b_0", "fc_0.w_0"]
    assert x.shape == [-1, 6] and z.shape == [-1, 3]
    assert [o.type for o in startup.global_block().ops]  # initialisers live in the startup program


def test_executor_runs_fc_and_state_dict(static_mode):
    main, startup, x, z = _fc_program()
    scope = static.Scope()
    with static.scope_guard(scope):
        exe = static.Executor(paddle.CPUPlace())
        exe.run(startup)
        xv = np.random.default_rng(0).random((4, 6), dtype=np.float32)
        out, = exe.run(main, feed={"x": xv}, fetch_list=[z])
        sd = main.state_dict()
        w, b = np.array(sd["fc_0.w_0"]), np.array(sd["fc_0.b_0"])
        np.testing.assert_allclose(out, xv @ w + b, rtol=1e-6)
        assert w.shape == (6, 3) and not np.all(w == 0)
        # fetch by name works too
        out2, = exe.run(main, feed={"x": xv}, fetch_list=[z.name])
        np.testing.assert_array_equal(out, out2)


def test_feed_errors_name_the_variable(static_mode):
    main, startup, x, z = _fc_program()
    exe = static.Executor()
    exe.run(startup)
    with pytest.raises(ValueError, match="'x'.*shape"):
        exe.run(main, feed={"x": np.zeros((4, 5), np.float32)}, fetch_list=[z])
    with pytest.raises(ValueError, match="'x'"):
        exe.run(main, feed={"x": np.zeros((4, 6), np.int64)}, fetch_list=[z])
    with pytest.raises(ValueError, match="needs|has no value|feed"):
        exe.run(main, feed={}, fetch_list=[z])


def test_cuda_place_is_a_clear_error():
    with pytest.raises(RuntimeError, match="CPU only"):
        paddle.CUDAPlace(0)


def test_clone_for_test_sets_is_test(static_mode):
    main, startup = static.Program(), static.Program()
    with static.program_guard(main, startup):
        x = static.data("x", [None, 4], "float32")
        paddle.nn.functional.dropout(x, 0.5, training=True)
    test_prog = main.clone(for_test=True)
    drop = [o for o in test_prog.global_block().ops if o.type == "dropout"][0]
    assert drop.attrs["is_test"] is True
    assert [o for o in main.global_block().ops if o.type == "dropout"][0].attrs["is_test"] is False


def test_verify_reports_problems_by_index(static_mode):
    main, _, _, _ = _fc_program()
    assert main.verify() is True
    main.global_block().append_op("no_such_op", {"X": ["x"]}, {"Out": ["y"]})
    main.global_block().append_op("relu", {"X": ["missing_var"]}, {"Out": ["y2"]})
    with pytest.raises(static.program.ProgramVerifyError) as ei:
        main.verify()
    msg = str(ei.value)
    assert "op 2" in msg and "no_such_op" in msg and "op 3" in msg and "missing_var" in msg


def test_unknown_op_in_executor_names_type_and_index(static_mode):
    main, startup, x, z = _fc_program()
    main.global_block().append_op("frobnicate", {"X": [z.name]}, {"Out": ["q"]})
    exe = static.Executor()
    exe.run(startup)
    with pytest.raises(KeyError, match="frobnicate.*op 2"):
        exe.run(main, feed={"x": np.zeros((1, 6), np.float32)}, fetch_list=[z])
    from sampan.inference.plan import op_nodes                  # the predictor's plan says the same
    with pytest.raises(KeyError, match="frobnicate.*op 2 of block 0.*see docs/ops.md"):
        op_nodes(main)


def test_append_backward_matches_eager_gradients(static_mode):
    rng = np.random.default_rng(1)
    W1 = rng.uniform(-1, 1, (5, 7)).astype(np.float32)
    W2 = rng.uniform(-1, 1, (7, 3)).astype(np.float32)
    X = rng.uniform(-1, 1, (4, 5)).astype(np.float32)
    main, startup = static.Program(), static.Program()
    with static.program_guard(main, startup):
        x = static.data("x", [None, 5], "float32")
        w1 = main.global_block().create_parameter("w1", [5, 7], "float32")
        w2 = main.global_block().create_parameter("w2", [7, 3], "float32")
        h = paddle.nn.functional.relu(paddle.matmul(x, w1))
        loss = paddle.mean(paddle.tanh(paddle.matmul(h, w2)) * h.sum(axis=1, keepdim=True))
        pg = static.append_backward(loss)
    scope = static.Scope()
    scope.set("w1", W1)
    scope.set("w2", W2)
    exe = static.Executor()
    with static.scope_guard(scope):
        g1, g2 = exe.run(main, feed={"x": X}, fetch_list=[g for _, g in pg])
    paddle.disable_static()
    t1 = paddle.to_tensor(W1, stop_gradient=False)
    t2 = paddle.to_tensor(W2, stop_gradient=False)
    xt = paddle.to_tensor(X)
    he = paddle.nn.functional.relu(paddle.matmul(xt, t1))
    le = paddle.mean(paddle.tanh(paddle.matmul(he, t2)) * he.sum(axis=1, keepdim=True))
    le.backward()
    np.testing.assert_allclose(g1, t1.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g2, t2.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_guide_2_2_save_and_load_program(static_mode, tmp_path):
    main, startup, x, z = _fc_program()
    exe = static.Executor(paddle.CPUPlace())
    scope = static.Scope()
    xv = np.random.default_rng(2).random((3, 6), dtype=np.float32)
    with static.scope_guard(scope):
        exe.run(startup)
        out0, = exe.run(main, feed={"x": xv}, fetch_list=[z])
        paddle.save(main.state_dict(), str(tmp_path / "temp/model.pdparams"))
        paddle.save(main, str(tmp_path / "temp/model.pdmodel"))
        prog = paddle.load(str(tmp_path / "temp/model.pdmodel"))
        assert isinstance(prog, static.Program)
        assert [o.type for o in prog.global_block().ops] == ["mul", "elementwise_add"]
        main.set_state_dict({k: np.zeros_like(np.array(v)) for k, v in main.state_dict().items()})
        assert np.all(exe.run(main, feed={"x": xv}, fetch_list=[z])[0] == 0)
        sd = paddle.load(str(tmp_path / "temp/model.pdparams"))
        prog.set_state_dict(sd)
        out1, = exe.run(prog, feed={"x": xv}, fetch_list=[z.name])
        np.testing.assert_array_equal(out0, out1)


def test_program_roundtrip_in_new_process(tmp_path):
    """A Program and its state saved in one process load in another and give the same output."""
    code = textwrap.dedent("""
        import sys, numpy as np, sampan as paddle
        from sampan import static
        paddle.enable_static()
        d = sys.argv[1]
        xv = np.arange(12, dtype=np.float32).reshape(2, 6) / 10
        exe = static.Executor(paddle.CPUPlace())
        if sys.argv[2] == "save":
            x = static.data("x", [None, 6], "float32")
            z = static.nn.fc(x, 3, activation="relu")
            exe.run(static.default_startup_program())
            out, = exe.run(feed={"x": xv}, fetch_list=[z])
            np.save(d + "/out.npy", out)
            static.save(static.default_main_program(), d + "/m")
            open(d + "/name.txt", "w").write(z.name)
        else:
            prog = paddle.load(d + "/m.pdmodel")
            static.load(prog, d + "/m", exe)
            out, = exe.run(prog, feed={"x": xv}, fetch_list=[open(d + "/name.txt").read()])
            np.testing.assert_array_equal(out, np.load(d + "/out.npy"))
            print("OK")
    """)
    for phase in ("save", "load"):
        r = subprocess.run([sys.executable, "-c", code, str(tmp_path), phase], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("OK")
    assert sorted(os.listdir(tmp_path)) == ["m.pdmodel", "m.pdopt", "m.pdparams", "name.txt", "out.npy"]


def test_static_training_follows_the_lr_scheduler(static_mode):
    main, startup = static.Program(), static.Program()
    with static.program_guard(main, startup):
        x = static.data("x", [None, 4], "float32")
        loss = paddle.mean(static.nn.fc(x, 1))
        sched = paddle.optimizer.lr.StepDecay(0.1, step_size=1, gamma=0.5)
        paddle.optimizer.SGD(learning_rate=sched).minimize(loss)
    scope = static.Scope()
    with static.scope_guard(scope):
        exe = static.Executor()
        exe.run(startup)
        b0 = np.array(main.state_dict()["fc_0.b_0"])
        steps = []
        for _ in range(3):
            exe.run(main, feed={"x": np.ones((2, 4), np.float32)}, fetch_list=[loss])
            sched.step()
            b = np.array(main.state_dict()["fc_0.b_0"])
            steps.append(float((b - b0)[0]))
            b0 = b
    # d(mean)/d(b) = 1, so each step moves the bias by -lr: 0.1, 0.05, 0.025
    np.testing.assert_allclose(steps, [-0.1, -0.05, -0.025], rtol=1e-5)
