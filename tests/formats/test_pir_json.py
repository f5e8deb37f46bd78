"""The Paddle 3.x PIR json reader: real 3.3.1 files translate into the same legacy ops Paddle 2.x wrote."""
import json
import os

import numpy as np
import pytest

from sampan.formats.errors import FormatMismatchError
from sampan.formats.pdmodel import decode_program, encode_program
from sampan.formats.pir_json import (PirFormatError, UnsupportedPirOpError, decode_pir_program, load_pir_json,
                                     supported_pir_ops)

from . import program_runner

FIX = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "paddle")
PIR = os.path.join(FIX, "3.3.1-pir")
MODELS = ("linear", "mlp", "cnn", "transformer")
CASES = [(m, k) for m in MODELS for k in ("jit", "static")]
COMMON = {"op_device", "op_namescope", "op_role", "op_role_var", "op_callstack", "with_quant_attr"}


def _read(*parts):
    with open(os.path.join(*parts), "rb") as f:
        return f.read()


def _pir(model, kind):
    return load_pir_json(_read(PIR, model, kind, "model.json"))


def _manifest(flavour):
    with open(os.path.join(FIX, flavour, "MANIFEST.json")) as f:
        return json.load(f)


def _legacy_reference(model, kind):
    """The same network saved by Paddle in legacy IR (3.3.1-legacy; 2.6.2 for the transformer, which
    3.3.1-legacy cannot build), without 2.6.2's save_infer_model scale before the fetch."""
    flavour = "2.6.2" if model == "transformer" else "3.3.1-legacy"
    prog = decode_program(_read(FIX, flavour, model, kind, "model.pdmodel"))
    ops = [op for op in prog.global_block().ops
           if not (op.type == "scale" and op.output("Out")[0].startswith("save_infer_model/"))]
    return prog, ops


@pytest.mark.parametrize("model,kind", CASES)
def test_every_pir_program_decodes(model, kind):
    m = _pir(model, kind)
    block = m.program.global_block()
    assert block.ops[0].type == "feed" and block.ops[-1].type == "fetch"
    assert m.version == 4 and m.feed_names == ["x"] and m.fetch_aliases == ["fetch_name_0"]
    assert m.fetch_names == block.ops[-1].input("X")
    for op in block.ops:    # every name an op uses is a var of the block
        for n in op.input_arg_names + op.output_arg_names:
            assert n in block.vars, (op.type, n)


def test_misc_program_decodes():
    m = load_pir_json(_read(PIR, "misc", "program.pdmodel"))    # PIR json under a .pdmodel name
    assert [op.type for op in m.program.global_block().ops] == ["feed", "matmul_v2", "elementwise_add"]
    assert m.parameter_names == ["linear_0.b_0", "linear_0.w_0"] and m.fetch_names == []


def test_linear_jit_matches_legacy_op_sequence():
    legacy = decode_program(_read(FIX, "3.3.1-legacy", "linear", "jit", "model.pdmodel"))
    pir = _pir("linear", "jit").program
    assert [op.type for op in pir.global_block().ops] == [op.type for op in legacy.global_block().ops] == \
        ["feed", "matmul_v2", "elementwise_add", "fetch"]
    matmul = pir.global_block().ops[1]
    assert matmul.inputs == {"X": ["x"], "Y": ["linear_0.w_0"]}
    assert matmul.attrs == {"trans_x": False, "trans_y": False} and matmul.attr_types == {"trans_x": 6, "trans_y": 6}
    add = pir.global_block().ops[2]
    assert add.attrs == {"axis": -1} and add.inputs["Y"] == ["linear_0.b_0"]
    assert pir.global_block().ops[0].attrs == {"col": 0}
    x = pir.global_block().vars["x"]
    assert (x.shape, x.dtype.name, x.persistable) == ([-1, 6], "float32", False)


@pytest.mark.parametrize("model,kind", CASES)
def test_translation_equals_legacy_program(model, kind):
    legacy, legacy_ops = _legacy_reference(model, kind)
    pir = _pir(model, kind).program
    ops = pir.global_block().ops
    assert [op.type for op in ops] == [op.type for op in legacy_ops]
    for a, b in zip(legacy_ops, ops):
        own = {k: (v, a.attr_types[k]) for k, v in a.attrs.items() if k not in COMMON}
        got = {k: (v, b.attr_types[k]) for k, v in b.attrs.items()}
        if a.type == "reshape2" and model == "cnn":
            # the conv bias reshape: 2.x wrote [1, C, 1, 1], 3.x's constant is [1, -1, 1, 1]
            assert own.pop("shape") == ([1, 4, 1, 1], 3) and got.pop("shape") == ([1, -1, 1, 1], 3)
        assert got == own, a.type
        assert list(b.inputs) == list(a.inputs) and list(b.outputs) == list(a.outputs), a.type
        for slot, names in a.inputs.items():
            assert len(b.inputs[slot]) == len(names)
            for n1, n2 in zip(names, b.inputs[slot]):
                v1, v2 = legacy.global_block().vars[n1], pir.global_block().vars[n2]
                assert (v1.shape, v1.dtype, v1.persistable) == (v2.shape, v2.dtype, v2.persistable), (a.type, slot)
                if v1.persistable:
                    assert n1 == n2    # parameters keep their names


@pytest.mark.parametrize("model,kind", CASES)
def test_parameter_names_match_manifest(model, kind):
    m = _pir(model, kind)
    info = _manifest("3.3.1-pir")["models"][model]
    if kind == "jit":
        expected = sorted(v["tensor_name"] for v in info["state_dict"].values())
    else:
        expected = sorted(info["static"]["structured_to_static_var_name"].values())
    assert m.parameter_names == expected
    # .pdiparams order: the parameters, sorted; they are the program's persistable vars
    assert m.parameter_names == program_runner.persistable_names(m.program)
    if model != "transformer":
        legacy = decode_program(_read(FIX, "3.3.1-legacy", model, kind, "model.pdmodel"))
        assert m.parameter_names == program_runner.persistable_names(legacy)


def test_batch_norm_running_stats_are_updated_in_place():
    block = _pir("cnn", "jit").program.global_block()
    bn = next(op for op in block.ops if op.type == "batch_norm")
    assert bn.outputs["MeanOut"] == bn.inputs["Mean"] == ["batch_norm2d_0.w_1"]
    assert bn.outputs["VarianceOut"] == bn.inputs["Variance"] == ["batch_norm2d_0.w_2"]
    assert block.vars["batch_norm2d_0.w_1"].trainable is False
    assert block.vars["conv2d_0.w_0"].trainable is True


def test_translated_program_encodes_as_pdmodel():
    prog = _pir("cnn", "jit").program
    data = encode_program(prog, canonical=True)
    back = decode_program(data)
    assert [op.type for op in back.global_block().ops] == [op.type for op in prog.global_block().ops]
    assert encode_program(back) == data


# ------------------------------------------------------------------------------------------ synthetic programs
def _tensor(dtype, dims):
    return {"#": "0.t_dtensor", "D": [{"#": dtype}, dims, "NCHW", [], 0]}


def _attr(name, tid, value):
    return {"N": name, "AT": {"#": tid, "D": value}}


def _program(ops):
    return json.dumps({"base_code": {"magic": "pir", "trainable": True, "version": 4},
                       "program": {"regions": [{"#": "region_0", "blocks": [{"#": "block_0", "args": [],
                                                                             "ops": ops}]}]}})


def _data_op(vid, name, dims):
    return {"#": "1.data", "A": [_attr("name", "0.a_str", name), _attr("shape", "1.a_intarray", dims),
                                 _attr("dtype", "1.a_dtype", "float32"), _attr("place", "1.a_place", [0, 0, ""])],
            "I": [], "O": [{"%": vid, "TT": _tensor("0.t_f32", dims)}]}


def _fetch_op(src, vid, col=0):
    return {"#": "1.fetch", "A": [_attr("name", "0.a_str", f"fetch_name_{col}"), _attr("col", "0.a_i32", col)],
            "I": [{"%": src}], "O": [{"%": vid, "TT": _tensor("0.t_f32", [-1, 4])}]}


def _full_op(vid, value, dims=(1,)):
    return {"#": "1.full", "A": [_attr("shape", "1.a_intarray", list(dims)), _attr("value", "0.a_f64", value),
                                 _attr("dtype", "1.a_dtype", "float32"), _attr("place", "1.a_place", [1, 0, ""])],
            "I": [], "O": [{"%": vid, "TT": _tensor("0.t_f32", list(dims))}]}


def test_constant_feeding_a_tensor_input_becomes_fill_constant():
    ops = [_data_op(1, "x", [-1, 4]), _full_op(2, 1.5),
           {"#": "1.add", "A": [], "I": [{"%": 1}, {"%": 2}], "O": [{"%": 3, "TT": _tensor("0.t_f32", [-1, 4])}]},
           _fetch_op(3, 4)]
    prog = decode_pir_program(_program(ops))
    block = prog.global_block()
    assert [op.type for op in block.ops] == ["feed", "fill_constant", "elementwise_add", "fetch"]
    fill = block.ops[1]
    assert fill.attrs["value"] == 1.5 and fill.attrs["shape"] == [1] and fill.attrs["dtype"] == 5
    assert fill.attr_types["shape"] == 11 and fill.attr_types["value"] == 1          # LONGS, FLOAT
    assert block.ops[2].inputs["Y"] == fill.outputs["Out"]


def test_two_inputs_and_combine_concat():
    ops = [_data_op(1, "a", [-1, 4]), _data_op(2, "b", [-1, 4]),
           {"#": "1.full", "A": [_attr("shape", "1.a_intarray", [1]), _attr("value", "0.a_f64", 1.0),
                                 _attr("dtype", "1.a_dtype", "int32"), _attr("place", "1.a_place", [1, 0, ""])],
            "I": [], "O": [{"%": 3, "TT": _tensor("0.t_i32", [1])}]},
           {"#": "0.combine", "A": [], "I": [{"%": 1}, {"%": 2}],
            "O": [{"%": 4, "TT": {"#": "0.t_vec", "D": [_tensor("0.t_f32", [-1, 4])] * 2}}]},
           {"#": "1.concat", "A": [], "I": [{"%": 4}, {"%": 3}], "O": [{"%": 5, "TT": _tensor("0.t_f32", [-1, 8])}]},
           _fetch_op(5, 6)]
    m = load_pir_json(_program(ops).encode())
    block = m.program.global_block()
    # feed ops are prepended one by one in Paddle's legacy programs: the last column comes first
    assert [(op.type, op.attrs.get("col")) for op in block.ops] == [("feed", 1), ("feed", 0), ("concat", None),
                                                                    ("fetch", 0)]
    concat = block.ops[2]
    assert concat.inputs == {"AxisTensor": [], "X": ["a", "b"]} and concat.attrs == {"axis": 1}
    assert m.feed_names == ["a", "b"]
    if program_runner.missing_ops(m.program):
        return
    a, b = np.ones((2, 4), np.float32), np.zeros((2, 4), np.float32)
    (out,) = program_runner.run(m.program, {}, {"a": a, "b": b})
    np.testing.assert_array_equal(out, np.concatenate([a, b], axis=1))


def test_unknown_op_names_op_index_and_operands():
    data = _read(PIR, "linear", "jit", "model.json").replace(b'"1.add"', b'"1.frobnicate"')
    with pytest.raises(UnsupportedPirOpError) as e:
        load_pir_json(data, path="model.json")
    msg = str(e.value)
    assert "'1.frobnicate'" in msg and "index 4" in msg and "linear_0.b_0" in msg and "model.json" in msg
    assert "1.matmul" in msg    # lists what is supported
    assert "1.matmul" in supported_pir_ops() and "p" in supported_pir_ops()


def test_runtime_constant_where_an_attribute_is_needed_is_reported():
    ops = [_data_op(1, "x", [-1, 4]), _data_op(2, "s", [1]),
           {"#": "1.scale", "A": [_attr("bias", "0.a_f32", 0.0), _attr("bias_after_scale", "0.a_bool", True)],
            "I": [{"%": 1}, {"%": 2}], "O": [{"%": 3, "TT": _tensor("0.t_f32", [-1, 4])}]},
           {"#": "1.dropout", "A": [_attr("is_test", "0.a_bool", True), _attr("mode", "0.a_str", "upscale_in_train")],
            "I": [{"%": 3}, {"%": 0}, {"%": 2}], "O": [{"%": 4, "TT": _tensor("0.t_f32", [-1, 4])}]}]
    with pytest.raises(UnsupportedPirOpError, match=r"'1.dropout' \(index 3\).*dropout probability"):
        load_pir_json(_program(ops))
    # scale takes a run-time factor through its ScaleTensor slot
    prog = decode_pir_program(_program(ops[:3]))
    assert prog.global_block().ops[-1].inputs["ScaleTensor"] == ["s"]


def test_bad_files_are_reported():
    with pytest.raises(FormatMismatchError, match="protobuf"):
        load_pir_json(_read(FIX, "2.6.2", "linear", "jit", "model.pdmodel"))
    with pytest.raises(PirFormatError, match="invalid json") as e:
        load_pir_json(_read(PIR, "linear", "jit", "model.json")[:500])
    assert e.value.offset is not None and isinstance(e.value, ValueError)
    with pytest.raises(PirFormatError, match="magic"):
        load_pir_json(b'{"base_code": {"magic": "xyz", "version": 4}, "program": {}}')
    with pytest.raises(PirFormatError, match="regions"):
        load_pir_json(b'{"base_code": {"magic": "pir", "version": 4}, "program": {}}')


# ------------------------------------------------------------------------------------------ running
@pytest.mark.parametrize("model,kind", CASES)
def test_translated_program_reproduces_paddle_output(model, kind):
    m = _pir(model, kind)
    missing = program_runner.missing_ops(m.program)
    if missing:
        pytest.skip(f"op kernels not in the registry yet: {', '.join(missing)}")
    params = program_runner.read_pdiparams(_read(PIR, model, kind, "model.pdiparams"), m.parameter_names)
    x = np.load(os.path.join(PIR, model, "input.npy"))
    (out,) = program_runner.run(m.program, params, {"x": x})
    np.testing.assert_allclose(out, np.load(os.path.join(PIR, model, f"{kind}_output.npy")), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------------------ interop fixtures
# tests/fixtures/interop: the same networks written by Paddle 3.3.1 as PIR json and by 3.3.1 in legacy mode
# (or 2.6.2 where 3.3.1-legacy could not export them): the translation must give Paddle 2's program.
INTEROP = os.path.join(os.path.dirname(FIX), "interop")
INTEROP_MODELS = sorted(d for d in os.listdir(os.path.join(INTEROP, "3.3.1-pir"))
                        if os.path.isdir(os.path.join(INTEROP, "3.3.1-pir", d)))
INTEROP_CASES = [(m, k) for m in INTEROP_MODELS for k in ("jit", "static")]


def _interop_pir(model, kind):
    return load_pir_json(_read(INTEROP, "3.3.1-pir", model, kind, "model.json"))


def _interop_legacy(model, kind):
    for flavour in ("3.3.1-legacy", "2.6.2"):
        path = os.path.join(INTEROP, flavour, model, kind, "model.pdmodel")
        if os.path.isfile(path):
            prog = decode_program(_read(path))
            ops = [op for op in prog.global_block().ops
                   if not (op.type == "scale" and op.output("Out")[0].startswith("save_infer_model/"))]
            return flavour, prog, ops
    raise AssertionError(f"no legacy export of {model}/{kind}")


# oneDNN switches some 2.6.2 ops carry (FORMATS.md: kernels ignore them)
BACKEND_ATTRS = {"use_mkldnn", "mkldnn_data_type", "use_onednn", "onednn_data_type", "use_quantizer"}


def _normalized(op):
    """The attributes of ``op`` with the differences between Paddle 3's and Paddle 2's programs that are
    known and harmless taken out (each is a choice of the translation, explained in pir_json.py):

    * integer scalars feeding shape lists: Paddle 2 made int32 ``fill_constant`` ops pinned to the CPU
      (shape ``[]`` or ``[1]``), PIR declares int64 0-d ``1.full`` values, which the translation keeps;
    * Paddle 2 left ``str_value`` empty for some ``fill_constant`` ops; the translation always writes it;
    * ``reduce_*`` over ``dim=[]`` (all axes): 2.6.2 wrote ``reduce_all=False``, the translation True;
    * the conv bias ``reshape2``: 2.x wrote ``[1, C, 1, 1]``, 3.x's constant is ``[1, -1, 1, 1]``."""
    a = {k: v for k, v in op.attrs.items() if k not in COMMON | BACKEND_ATTRS}
    if op.type == "fill_constant" and a.get("dtype") in (2, 3) and list(a.get("shape", [])) in ([], [1]):
        a.update(dtype="int", shape="scalar")
        a.pop("force_cpu", None)
    if op.type == "fill_constant":
        a.pop("str_value", None)
    if op.type.startswith("reduce_") and a.get("dim") == []:
        a.pop("reduce_all", None)
    if op.type == "reshape2" and len(a.get("shape", [])) == 4 and a["shape"][0] == 1 and a["shape"][2:] == [1, 1]:
        a["shape"] = [1, "C", 1, 1]
    return a


@pytest.mark.parametrize("model,kind", INTEROP_CASES)
def test_interop_translation_equals_legacy_program(model, kind):
    flavour, legacy, legacy_ops = _interop_legacy(model, kind)
    pir = _interop_pir(model, kind).program
    block = pir.global_block()
    # PIR's shape64 (int64) becomes the legacy shape op (int32) + a cast to int64
    ops = [op for i, op in enumerate(block.ops)
           if not (op.type == "cast" and i and block.ops[i - 1].type == "shape"
                   and op.input("X") == block.ops[i - 1].output("Out"))]
    assert [op.type for op in ops] == [op.type for op in legacy_ops], flavour
    for a, b in zip(legacy_ops, ops):
        assert _normalized(b) == _normalized(a), (a.type, flavour)
        for k in b.attrs:
            assert b.attr_types[k] == a.attr_types.get(k, b.attr_types[k]), (a.type, k)
        # 3.3.1-legacy's scale has an (empty) BiasTensor slot that 2.6.2 and sampan's kernel do not know
        legacy_inputs = {k: v for k, v in a.inputs.items() if not (a.type == "scale" and k == "BiasTensor")}
        # Paddle 2 writes the empty optional slots of most ops (not of every fill_constant); so does sampan
        assert set(legacy_inputs) <= set(b.inputs), a.type
        assert not any(b.inputs[k] for k in set(b.inputs) - set(legacy_inputs)), a.type
        assert sorted(b.outputs) == sorted(a.outputs), a.type
        for slot, names in legacy_inputs.items():
            assert len(b.inputs[slot]) == len(names), (a.type, slot)
            for n1, n2 in zip(names, b.inputs[slot]):
                if legacy.global_block().vars[n1].persistable:
                    assert n1 == n2, (a.type, slot)    # parameters keep their names, in the same order
        for slot, names in a.outputs.items():
            assert len(b.outputs[slot]) == len(names), (a.type, slot)


@pytest.mark.parametrize("model,kind", INTEROP_CASES)
def test_interop_translation_reproduces_paddle_output(model, kind):
    m = _interop_pir(model, kind)
    assert not program_runner.missing_ops(m.program)
    block = m.program.global_block()
    for op in block.ops:    # every name an op uses is a var of the block
        for n in op.input_arg_names + op.output_arg_names:
            assert n in block.vars, (op.type, n)
    d = os.path.join(INTEROP, "3.3.1-pir", model)
    with open(os.path.join(d, "MANIFEST.json")) as f:
        man = json.load(f)
    params = {}
    if m.parameter_names:
        params = program_runner.read_pdiparams(_read(d, kind, "model.pdiparams"), m.parameter_names)
    feeds = {i["name"]: np.load(os.path.join(d, i["file"])) for i in man["inputs"]}
    assert m.feed_names == [i["name"] for i in man["inputs"]]
    outs = program_runner.run(m.program, params, feeds)
    assert len(outs) == len(man["outputs"])
    for got, o in zip(outs, man["outputs"]):
        want = np.load(os.path.join(d, o["file"]))
        assert got.dtype == want.dtype and got.shape == want.shape, o["file"]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=o["file"])


def test_rnn_becomes_the_legacy_rnn_op():
    flavour, legacy, legacy_ops = _interop_legacy("lstm", "jit")
    m = _interop_pir("lstm", "jit")
    block = m.program.global_block()
    rnn = next(op for op in block.ops if op.type == "rnn")
    want = next(op for op in legacy_ops if op.type == "rnn")
    assert rnn.input("WeightList") == want.input("WeightList")          # w_ih, w_hh per layer, then the biases
    assert len(rnn.input("PreState")) == 2 and rnn.input("SequenceLength") == []
    assert rnn.attrs == {k: v for k, v in want.attrs.items() if k not in COMMON}
    # DropoutState is written into the dropout-state variable itself (a non-persistable `p` in jit.save files)
    assert rnn.output("DropoutState") == ["lstm_0.dropout_state__non_persistable"]
    assert not block.vars["lstm_0.dropout_state__non_persistable"].persistable
    assert "lstm_0.dropout_state__non_persistable" not in m.parameter_names
    # the final states (a vector result, taken apart by 0.split) are fetched as outputs 1 and 2
    fetches = {op.attrs["col"]: op.input("X")[0] for op in block.ops if op.type == "fetch"}
    assert [fetches[1], fetches[2]] == rnn.output("State")
    assert block.vars[rnn.output("State")[0]].shape == [2, -1, 5]


def test_rnn_with_sequence_length_and_a_shared_dropout_state():
    m = _interop_pir("gru", "static")
    block = m.program.global_block()
    gru, simple = [op for op in block.ops if op.type == "rnn"]
    assert gru.input("SequenceLength") == ["lengths"] and simple.input("SequenceLength") == []
    assert (gru.attrs["mode"], gru.attrs["is_bidirec"], simple.attrs["mode"]) == ("GRU", True, "RNN_TANH")
    # save_inference_model writes one persistable `p` op per rnn for the same variable: one var, stored once
    assert gru.output("DropoutState") == simple.output("DropoutState") == ["dropout_state__non_persistable"]
    assert m.parameter_names.count("dropout_state__non_persistable") == 1
    assert block.vars["dropout_state__non_persistable"].persistable


def test_full_with_tensor_of_a_stacked_shape_becomes_fill_constant_with_shape_tensor_list():
    block = _interop_pir("lstm", "jit").program.global_block()
    assert "stack" not in [op.type for op in block.ops]        # combine + stack -> ShapeTensorList
    producers = {n: op for op in block.ops for names in op.outputs.values() for n in names}
    rnn = next(op for op in block.ops if op.type == "rnn")
    for h in rnn.input("PreState"):
        fill = producers[h]
        assert fill.type == "fill_constant"
        assert (fill.attrs["shape"], fill.attrs["value"], fill.attrs["dtype"]) == ([2, -1, 5], 0.0, 5)
        assert fill.attr_types["shape"] == 11     # LONGS, as Paddle writes fill_constant's shape
        assert fill.inputs["ShapeTensor"] == [] and fill.inputs["ValueTensor"] == []
        num_layers, batch, hidden = (producers[n] for n in fill.input("ShapeTensorList"))
        assert (num_layers.type, num_layers.attrs["value"], num_layers.attrs["shape"]) == ("fill_constant", 2.0, [])
        assert (hidden.type, hidden.attrs["value"]) == ("fill_constant", 5.0)
        assert batch.type == "slice" and batch.attrs["decrease_axis"] == [0]
        assert producers[batch.input("Input")[0]].type == "cast"              # shape64 = shape + cast
        assert producers[producers[batch.input("Input")[0]].input("X")[0]].type == "shape"


# ------------------------------------------------------------------------------------------ synthetic op families
def _tt(dtype, dims):
    return _tensor({"float32": "0.t_f32", "int64": "0.t_i64", "int32": "0.t_i32", "bool": "0.t_bool",
                    "float64": "0.t_f64"}[dtype], list(dims))


def _op(name, operands, results, attrs=()):
    """A PIR op: results are (value id, dtype, dims) or (value id, type json)."""
    outs = [{"%": r[0], "TT": r[1] if len(r) == 2 else _tt(r[1], r[2])} for r in results]
    return {"#": name, "A": [_attr(*a) for a in attrs], "I": [{"%": v} for v in operands], "O": outs}


def _ints_attr(name, values, tid="0.a_i64"):
    return name, "0.a_array", [{"#": tid, "D": v} for v in values]


def _int_array_op(vid, values):
    return _op("1.full_int_array", [], [(vid, "int64", [len(values)])],
               [_ints_attr("value", values), ("dtype", "1.a_dtype", "int64"), ("place", "1.a_place", [1, 0, ""])])


def _scalar_op(vid, value, dtype="float32", dims=(1,)):
    return _op("1.full", [], [(vid, dtype, list(dims))],
               [("shape", "1.a_intarray", list(dims)), ("value", "0.a_f64", value), ("dtype", "1.a_dtype", dtype),
                ("place", "1.a_place", [1, 0, ""])])


def _typed_data_op(vid, name, dims, dtype="float32"):
    return _op("1.data", [], [(vid, dtype, dims)], [("name", "0.a_str", name), ("shape", "1.a_intarray", dims),
                                                     ("dtype", "1.a_dtype", dtype),
                                                     ("place", "1.a_place", [0, 0, ""])])


def _fetch(src, vid, col, dtype="float32", dims=(-1,)):
    return _op("1.fetch", [src], [(vid, dtype, list(dims))], [("name", "0.a_str", f"fetch_name_{col}"),
                                                                ("col", "0.a_i32", col)])


def _batch_size(x_vid, first_vid):
    """shape64(x)[0] as PIR writes it: ids first_vid .. first_vid + 3; the scalar is first_vid + 3."""
    v = first_vid
    return [_op("1.shape64", [x_vid], [(v, "int64", [2])]), _int_array_op(v + 1, [0]), _int_array_op(v + 2, [1]),
            _op("1.slice", [v, v + 1, v + 2], [(v + 3, "int64", [])],
                [_ints_attr("axes", [0]), _ints_attr("infer_flags", [1]), _ints_attr("decrease_axis", [0])])]


def _run(ops, feeds):
    m = load_pir_json(_program(ops))
    assert not program_runner.missing_ops(m.program), program_runner.missing_ops(m.program)
    return m, m.program.global_block(), program_runner.run(m.program, {}, feeds)


def test_stack_of_run_time_scalars_feeds_reshape_as_shape_tensor_list_and_is_emitted_when_read():
    vec = {"#": "0.t_vec", "D": [_tt("int64", []), _tt("int64", [])]}
    ops = [_typed_data_op(1, "x", [-1, 6])] + _batch_size(1, 2) + [
        _scalar_op(6, -1.0, "int64", ()),
        _op("0.combine", [5, 6], [(7, vec)]),
        _op("1.stack", [7], [(8, "int64", [2])], [("axis", "0.a_i32", 0)]),
        _int_array_op(9, [-1, 3]),
        _op("1.reshape", [1, 8], [(10, "float32", [-1, -1])]),
        _op("1.reshape", [10, 9], [(11, "float32", [-1, 3])]),
        _fetch(11, 12, 0, dims=(-1, 3)), _fetch(8, 13, 1, "int64", (2,))]
    x = np.arange(12, dtype=np.float32).reshape(2, 6)
    m, block, (out, shape) = _run(ops, {"x": x})
    r1, r2 = [op for op in block.ops if op.type == "reshape2"]
    assert r1.attrs["shape"] == [-1, -1] and len(r1.input("ShapeTensor")) == 2 and r1.input("Shape") == []
    assert r2.attrs["shape"] == [-1, 3] and r2.input("ShapeTensor") == []
    assert [op.type for op in block.ops].count("stack") == 1      # only for the fetch
    np.testing.assert_array_equal(out, x.reshape(-1, 3))
    assert shape.dtype == np.int64 and shape.tolist() == [2, -1]


def test_shape64_is_int64():
    ops = [_typed_data_op(1, "x", [-1, 6]), _op("1.shape64", [1], [(2, "int64", [2])]), _fetch(2, 3, 0, "int64")]
    _, block, (s,) = _run(ops, {"x": np.zeros((5, 6), np.float32)})
    assert [op.type for op in block.ops] == ["feed", "shape", "cast", "fetch"]
    assert block.ops[2].attrs == {"in_dtype": 2, "out_dtype": 3}
    assert s.dtype == np.int64 and s.tolist() == [5, 6]


def test_full_with_tensor_with_a_shape_tensor_and_full_like():
    ops = [_typed_data_op(1, "x", [-1, 3]), _op("1.shape64", [1], [(2, "int64", [2])]),
           _scalar_op(3, 7.0, "float32"),
           _op("1.full_with_tensor", [3, 2], [(4, "int64", [-1, 3])], [("dtype", "1.a_dtype", "int64")]),
           _scalar_op(5, 0.5, "float32"),
           _op("1.full_like", [1, 5], [(6, "float32", [-1, 3])], [("dtype", "1.a_dtype", "float32"),
                                                                   ("place", "1.a_place", [0, 0, ""])]),
           _fetch(4, 7, 0, "int64"), _fetch(6, 8, 1)]
    _, block, (full, like) = _run(ops, {"x": np.zeros((2, 3), np.float32)})
    fill = next(op for op in block.ops if op.type == "fill_constant")
    assert fill.attrs["dtype"] == 3 and fill.attrs["str_value"] == "7" and fill.attrs["shape"] == []
    assert len(fill.input("ShapeTensor")) == 1 and fill.input("ShapeTensorList") == []
    like_op = next(op for op in block.ops if op.type == "fill_any_like")
    assert like_op.attrs == {"dtype": 5, "value": 0.5}
    assert full.dtype == np.int64 and full.tolist() == [[7] * 3] * 2
    np.testing.assert_array_equal(like, np.full((2, 3), 0.5, np.float32))


def test_slice_with_a_run_time_end_and_strided_slice():
    vec = {"#": "0.t_vec", "D": [_tt("int64", [])]}
    ops = [_typed_data_op(1, "x", [-1, 8])] + _batch_size(1, 2) + [   # x[:, :batch] and x[:, 1::3]
        _int_array_op(6, [0]), _op("0.combine", [5], [(7, vec)]),
        _op("1.slice", [1, 6, 7], [(8, "float32", [-1, -1])],
            [_ints_attr("axes", [1]), _ints_attr("infer_flags", [-1]), _ints_attr("decrease_axis", [])]),
        _int_array_op(9, [1]), _int_array_op(10, [2147483647]), _int_array_op(11, [3]),
        _op("1.strided_slice", [1, 9, 10, 11], [(12, "float32", [-1, 3])], [_ints_attr("axes", [1], "0.a_i32")]),
        _fetch(8, 13, 0), _fetch(12, 14, 1)]
    x = np.arange(24, dtype=np.float32).reshape(3, 8)
    _, block, (a, b) = _run(ops, {"x": x})
    sl = [op for op in block.ops if op.type == "slice"][-1]
    assert sl.attrs["starts"] == [0] and sl.attrs["ends"] == [-1] and sl.attrs["infer_flags"] == [-1]
    assert len(sl.input("EndsTensorList")) == 1 and sl.input("StartsTensorList") == []
    ss = next(op for op in block.ops if op.type == "strided_slice")
    assert {k: ss.attrs[k] for k in ("axes", "starts", "ends", "strides", "infer_flags", "decrease_axis")} == \
        {"axes": [1], "starts": [1], "ends": [2147483647], "strides": [3], "infer_flags": [1], "decrease_axis": []}
    np.testing.assert_array_equal(a, x[:, :3])
    np.testing.assert_array_equal(b, x[:, 1::3])


def test_clip_with_constant_and_tensor_bounds():
    ops = [_typed_data_op(1, "x", [-1, 4]), _typed_data_op(2, "hi", [1]), _scalar_op(3, -0.5),
           _op("1.clip", [1, 3, 2], [(4, "float32", [-1, 4])]), _fetch(4, 5, 0)]
    x = np.linspace(-2, 2, 8, dtype=np.float32).reshape(2, 4)
    _, block, (out,) = _run(ops, {"x": x, "hi": np.array([0.75], np.float32)})
    clip = next(op for op in block.ops if op.type == "clip")
    assert clip.attrs["min"] == -0.5 and clip.input("Min") == [] and clip.input("Max") == ["hi"]
    np.testing.assert_array_equal(out, np.clip(x, -0.5, 0.75))


def test_split_sections_and_num():
    vec2 = {"#": "0.t_vec", "D": [_tt("float32", [-1, 2]), _tt("float32", [-1, 4])]}
    vec3 = {"#": "0.t_vec", "D": [_tt("float32", [-1, 2])] * 3}
    ops = [_typed_data_op(1, "x", [-1, 6]), _int_array_op(2, [2, -1]), _scalar_op(3, 1.0, "int32"),
           _op("1.split", [1, 2, 3], [(4, vec2)]), _op("0.split", [4], [(5, "float32", [-1, 2]),
                                                                     (6, "float32", [-1, 4])]),
           _scalar_op(7, -1.0, "int32"), _op("1.split_with_num", [1, 7], [(8, vec3)], [("num", "0.a_i32", 3)]),
           _op("0.slice", [8], [(9, "float32", [-1, 2])], [("index", "0.a_i32", 2)]),
           _fetch(6, 10, 0), _fetch(9, 11, 1)]
    x = np.arange(12, dtype=np.float32).reshape(2, 6)
    _, block, (a, b) = _run(ops, {"x": x})
    s1, s2 = [op for op in block.ops if op.type == "split"]
    assert (s1.attrs["sections"], s1.attrs["axis"], s1.attrs["num"]) == ([2, -1], 1, 0)
    assert (s2.attrs["sections"], s2.attrs["axis"], s2.attrs["num"]) == ([], -1, 3)
    assert len(s1.output("Out")) == 2 and len(s2.output("Out")) == 3
    np.testing.assert_array_equal(a, x[:, 2:])
    np.testing.assert_array_equal(b, x[:, 4:])


def test_arange_tile_expand_gather_and_assign_value():
    ops = [_typed_data_op(1, "x", [-1, 3]),
           _scalar_op(2, 0.0, "float32"), _scalar_op(3, 6.0, "float32"), _scalar_op(4, 2.0, "float32"),
           _op("1.arange", [2, 3, 4], [(5, "int64", [-1])], [("dtype", "1.a_dtype", "int64"),
                                                             ("place", "1.a_place", [1, 0, ""])]),
           _int_array_op(6, [2, 1]), _op("1.tile", [1, 6], [(7, "float32", [-1, 3])]),
           _int_array_op(8, [2, -1, 3]), _op("1.expand", [1, 8], [(9, "float32", [2, -1, 3])]),
           _op("1.assign_value_", [], [(10, "int64", [2])],
               [_ints_attr("shape", [2], "0.a_i32"), ("dtype", "1.a_dtype", "int64"),
                ("values", "0.a_array", [{"#": "1.a_scalar", "D": ["int64", 2]},
                                         {"#": "1.a_scalar", "D": ["int64", 0]}]),
                ("place", "1.a_place", [1, 0, ""])]),
           _scalar_op(11, 1.0, "int32"), _op("1.gather", [1, 10, 11], [(12, "float32", [-1, 2])]),
           _fetch(5, 13, 0, "int64"), _fetch(7, 14, 1), _fetch(9, 15, 2), _fetch(12, 16, 3)]
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    _, block, (r, t, e, g) = _run(ops, {"x": x})
    types = [op.type for op in block.ops]
    assert types[1:5] == ["fill_constant"] * 3 + ["range"]
    assert [block.ops[i].attrs["dtype"] for i in (1, 2, 3)] == [3, 3, 3]      # the bounds in arange's dtype
    tile = next(op for op in block.ops if op.type == "tile")
    assert tile.attrs["repeat_times"] == [2, 1] and tile.input("RepeatTimes") == []
    expand = next(op for op in block.ops if op.type == "expand_v2")
    assert expand.attrs["shape"] == [2, -1, 3] and expand.input("expand_shapes_tensor") == []
    av = next(op for op in block.ops if op.type == "assign_value")
    assert (av.attrs["int64_values"], av.attrs["shape"], av.attrs["dtype"]) == ([2, 0], [2], 3)
    gather = next(op for op in block.ops if op.type == "gather")
    assert gather.attrs["axis"] == 1 and gather.input("Axis") == []
    assert r.dtype == np.int64 and r.tolist() == [0, 2, 4]
    np.testing.assert_array_equal(t, np.tile(x, (2, 1)))
    np.testing.assert_array_equal(e, np.broadcast_to(x, (2, 2, 3)))
    np.testing.assert_array_equal(g, x[:, [2, 0]])


def test_reduce_sum_with_an_unset_dtype_and_over_all_axes():
    ops = [_typed_data_op(1, "x", [-1, 4, 6]), _int_array_op(2, [1]), _int_array_op(3, []),
           _op("1.sum", [1, 2], [(4, "float32", [-1, 6])], [("dtype", "1.a_dtype", "Undefined(ALL_DTYPE)"),
                                                            ("keepdim", "0.a_bool", False)]),
           _op("1.sum", [1, 3], [(5, "float32", [])], [("dtype", "1.a_dtype", "Undefined(ALL_DTYPE)"),
                                                       ("keepdim", "0.a_bool", False)]),
           _fetch(4, 6, 0), _fetch(5, 7, 1, dims=())]
    x = np.random.default_rng(0).standard_normal((2, 4, 6)).astype(np.float32)
    _, block, (a, b) = _run(ops, {"x": x})
    s1, s2 = [op for op in block.ops if op.type == "reduce_sum"]
    assert (s1.attrs["dim"], s1.attrs["out_dtype"], s1.attrs["reduce_all"]) == ([1], -1, False)
    assert (s2.attrs["dim"], s2.attrs["reduce_all"]) == ([], True)
    np.testing.assert_allclose(a, x.sum(1), rtol=1e-6)
    np.testing.assert_allclose(b, x.sum(), rtol=1e-5)


def test_run_time_value_where_the_legacy_op_has_no_tensor_slot_is_reported():
    vec = {"#": "0.t_vec", "D": [_tt("int64", [])]}
    ops = [_typed_data_op(1, "x", [-1, 1, 4])] + _batch_size(1, 2) + [
        _op("0.combine", [5], [(6, vec)]), _op("1.squeeze", [1, 6], [(7, "float32", [-1, 4])])]
    with pytest.raises(UnsupportedPirOpError, match=r"'1.squeeze' \(index 6\).*axes.*run time"):
        load_pir_json(_program(ops))


def test_a_parameter_read_twice_is_one_variable():
    p = [{"#": "p", "A": [0, 1, 1, "w"], "DA": [], "O": {"%": vid, "TT": _tt(dt, [4])}, "OA": [1, 0, 1], "QA": []}
         for vid, dt in ((1, "float32"), (2, "float32"))]
    ops = p + [_typed_data_op(3, "x", [-1, 4]), _op("1.add", [3, 1], [(4, "float32", [-1, 4])]),
               _op("1.multiply", [4, 2], [(5, "float32", [-1, 4])]), _fetch(5, 6, 0)]
    m = load_pir_json(_program(ops))
    assert m.parameter_names == ["w"]
    add, mul = m.program.global_block().ops[1:3]
    assert add.input("Y") == mul.input("Y") == ["w"]
    p[1]["O"]["TT"] = _tt("int64", [4])
    with pytest.raises(PirFormatError, match="'w' appears twice"):
        load_pir_json(_program(p + ops[2:]))


def test_arange_with_a_run_time_bound_of_another_dtype_casts_it():
    ops = [_typed_data_op(1, "n", [1]), _scalar_op(2, 0.0), _scalar_op(3, 1.0),
           _op("1.arange", [2, 1, 3], [(4, "int64", [-1])], [("dtype", "1.a_dtype", "int64"),
                                                             ("place", "1.a_place", [1, 0, ""])]),
           _fetch(4, 5, 0, "int64")]
    _, block, (r,) = _run(ops, {"n": np.array([4.0], np.float32)})
    assert [op.type for op in block.ops] == ["feed", "fill_constant", "cast", "fill_constant", "range", "fetch"]
    assert r.dtype == np.int64 and r.tolist() == [0, 1, 2, 3]
