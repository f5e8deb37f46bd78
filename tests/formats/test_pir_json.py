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
