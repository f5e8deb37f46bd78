"""Program files and state helpers of paddle.static (issue 5) and the inference-model API (issue 7)."""
import os

import numpy as np
import pytest

import sampan as paddle
from sampan import static


@pytest.fixture
def built(tmp_path):
    paddle.enable_static()
    main, startup = static.Program(), static.Program()
    with static.program_guard(main, startup):
        x = static.data("x", [None, 5], "float32")
        h = static.nn.fc(x, 4, activation="relu")
        y = static.nn.fc(h, 2)
    scope = static.Scope()
    exe = static.Executor()
    with static.scope_guard(scope):
        exe.run(startup)
        xv = np.random.default_rng(0).random((3, 5), dtype=np.float32)
        ref, = exe.run(main, feed={"x": xv}, fetch_list=[y])
        yield main, startup, x, y, exe, scope, xv, ref
    paddle.disable_static()


def test_serialize_and_deserialize_program_and_persistables(built, tmp_path):
    main, _, x, y, exe, scope, xv, ref = built
    pbytes = static.serialize_program([x], [y], program=main)
    vbytes = static.serialize_persistables([x], [y], exe, program=main)
    static.save_to_file(str(tmp_path / "m.pdmodel"), pbytes)
    static.save_to_file(str(tmp_path / "m.pdiparams"), vbytes)
    assert static.load_from_file(str(tmp_path / "m.pdmodel")) == pbytes
    prog = static.deserialize_program(static.load_from_file(str(tmp_path / "m.pdmodel")))
    assert [o.type for o in prog.global_block().ops][0] == "feed"
    fresh = static.Scope()
    with static.scope_guard(fresh):
        static.deserialize_persistables(prog, static.load_from_file(str(tmp_path / "m.pdiparams")), exe)
        fetch = [o.input("X")[0] for o in prog.global_block().ops if o.type == "fetch"]
        out, = exe.run(prog, feed={"x": xv}, fetch_list=fetch)
    np.testing.assert_allclose(out, ref, rtol=1e-6)


def test_save_inference_model_writes_two_files_and_reloads(built, tmp_path):
    main, _, x, y, exe, scope, xv, ref = built
    prefix = str(tmp_path / "infer" / "model")
    static.save_inference_model(prefix, [x], [y], exe, program=main)
    assert sorted(os.listdir(tmp_path / "infer")) == ["model.pdiparams", "model.pdmodel"]
    with static.scope_guard(static.Scope()):
        prog, feeds, fetches = static.load_inference_model(prefix, exe)
        assert feeds == ["x"] and len(fetches) == 1
        out, = exe.run(prog, feed={"x": xv}, fetch_list=fetches)
    np.testing.assert_allclose(out, ref, rtol=1e-6)
    # the saved program is pruned and is_test is set; parameters carry no training flags
    ops = [o.type for o in prog.global_block().ops]
    assert ops == ["feed", "mul", "elementwise_add", "relu", "mul", "elementwise_add", "fetch"]
    assert all(v.is_parameter is None for v in prog.global_block().vars.values())


def test_load_inference_model_missing_prefix_names_the_files(tmp_path):
    paddle.enable_static()
    try:
        with pytest.raises(FileNotFoundError, match="no_such_model.pdmodel"):
            static.load_inference_model(str(tmp_path / "no_such_model"), static.Executor())
    finally:
        paddle.disable_static()


def test_static_save_load_and_program_state(built, tmp_path):
    main, _, x, y, exe, scope, xv, ref = built
    static.save(main, str(tmp_path / "ck"))
    assert sorted(os.listdir(tmp_path)) == ["ck.pdmodel", "ck.pdopt", "ck.pdparams"]
    state = static.load_program_state(str(tmp_path / "ck"))
    assert sorted(state) == sorted(v.name for v in main.all_parameters())
    main.set_state_dict({k: np.zeros_like(v) for k, v in state.items()})
    assert np.all(exe.run(main, feed={"x": xv}, fetch_list=[y])[0] == 0)
    static.set_program_state(main, state)
    np.testing.assert_array_equal(exe.run(main, feed={"x": xv}, fetch_list=[y])[0], ref)
    static.load(main, str(tmp_path / "ck"), exe)
    np.testing.assert_array_equal(exe.run(main, feed={"x": xv}, fetch_list=[y])[0], ref)


def test_state_dict_modes_and_set_state_dict_warnings(built):
    main, *_ = built
    assert sorted(main.state_dict("param")) == sorted(main.state_dict("all"))
    assert main.state_dict("opt") == {}
    with pytest.raises(ValueError, match="mode"):
        main.state_dict("weights")
    with pytest.warns(UserWarning, match="fc_0.w_0: shape"):
        main.set_state_dict({"fc_0.w_0": np.zeros((2, 2), np.float32)})


def test_gradients_of_targets_wrt_inputs():
    paddle.enable_static()
    try:
        main, startup = static.Program(), static.Program()
        with static.program_guard(main, startup):
            x = static.data("x", [3, 4], "float32")
            x.stop_gradient = False
            y = paddle.sum(paddle.tanh(x) * x)
            gx, = static.gradients([y], [x])
        xv = np.random.default_rng(1).random((3, 4), dtype=np.float32)
        g, = static.Executor().run(main, feed={"x": xv}, fetch_list=[gx])
        t = np.tanh(xv)
        np.testing.assert_allclose(g, (1 - t ** 2) * xv + t, rtol=1e-5)
    finally:
        paddle.disable_static()


def test_create_global_var_is_initialised_by_startup():
    paddle.enable_static()
    try:
        main, startup = static.Program(), static.Program()
        with static.program_guard(main, startup):
            v = static.create_global_var([2, 3], 1.5, "float32", persistable=True, name="gv")
            out = paddle.scale(v, 2.0)
        exe = static.Executor()
        with static.scope_guard(static.Scope()):
            exe.run(startup)
            r, = exe.run(main, fetch_list=[out])
        np.testing.assert_array_equal(r, np.full((2, 3), 3.0, np.float32))
    finally:
        paddle.disable_static()


def test_append_backward_reaches_data_vars_with_stop_gradient_false():
    paddle.enable_static()
    try:
        main, startup = static.Program(), static.Program()
        with static.program_guard(main, startup):
            x = static.data("x", [2, 3], "float32")
            x.stop_gradient = False
            loss = paddle.sum(x * x)
            static.append_backward(loss)
        xv = np.arange(6, dtype=np.float32).reshape(2, 3)
        g, = static.Executor().run(main, feed={"x": xv}, fetch_list=["x@GRAD"])
        np.testing.assert_allclose(g, 2 * xv)
    finally:
        paddle.disable_static()


def test_save_inference_model_separate_parameters_layout(built, tmp_path):
    main, _, x, y, exe, scope, xv, ref = built
    d = tmp_path / "sep"
    static.save_inference_model(str(d / "model"), [x], [y], exe, program=main, separate_parameters=True)
    names = sorted(os.listdir(d))
    assert names == sorted(["__model__"] + [v.name for v in main.all_parameters()])
    with static.scope_guard(static.Scope()):
        prog, feeds, fetches = static.load_inference_model(str(d), exe)
        out, = exe.run(prog, feed={"x": xv}, fetch_list=fetches)
    np.testing.assert_allclose(out, ref, rtol=1e-6)
    loaded = paddle.jit.load(str(d))
    loaded.eval()
    paddle.disable_static()
    np.testing.assert_allclose(loaded(paddle.to_tensor(xv)).numpy(), ref, rtol=1e-6)
    paddle.enable_static()
