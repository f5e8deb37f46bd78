"""The legacy .pdmodel codec against real Paddle 2.6.2 / 3.3.1-legacy files."""
import glob
import os

import numpy as np
import pytest

from sampan.formats import framework_pb2 as pb
from sampan.formats.errors import FormatError, FormatMismatchError
from sampan.formats.pdmodel import (DEFAULT_VERSION, ProgramDescError, ProgramEncodeError, add_common_attrs,
                                    decode_program, encode_program)
from sampan.static.program import Program, VarType

from . import program_runner

FIX = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "paddle")
LEGACY = ("2.6.2", "3.3.1-legacy")
PROGRAM_FILES = sorted(os.path.relpath(p, FIX) for fl in LEGACY
                       for p in glob.glob(os.path.join(FIX, fl, "**", "*.pdmodel"), recursive=True))
COMMON = {"op_device", "op_namescope", "op_role", "op_role_var", "op_callstack", "with_quant_attr"}


def _read(rel):
    with open(os.path.join(FIX, rel), "rb") as f:
        return f.read()


def _decode(rel):
    return decode_program(_read(rel))


def _own_attrs(op):
    return {k: v for k, v in op.attrs.items() if k not in COMMON}


def test_every_legacy_fixture_program_is_listed():
    # 2.6.2: 4 models x (jit, static) + misc; 3.3.1-legacy: no transformer (Paddle could not build it)
    assert len(PROGRAM_FILES) == 9 + 7


@pytest.mark.parametrize("rel", PROGRAM_FILES)
def test_decode_encode_is_byte_exact(rel):
    data = _read(rel)
    prog = decode_program(data)
    assert encode_program(prog) == data
    # a deep copy of the IR (what jit/static code works on) still writes the same bytes
    assert encode_program(prog.clone()) == data


@pytest.mark.parametrize("rel", PROGRAM_FILES)
def test_decoded_program_agrees_with_protobuf_view(rel):
    data = _read(rel)
    desc = pb.ProgramDesc()
    desc.ParseFromString(data)
    prog = decode_program(data)
    block, bd = prog.global_block(), desc.blocks[0]
    assert [v.name for v in block.vars.values()] == [v.name for v in bd.vars]
    assert [op.type for op in block.ops] == [op.type for op in bd.ops]
    for op, od in zip(block.ops, bd.ops):
        assert list(op.inputs) == [v.parameter for v in od.inputs]
        assert list(op.attrs) == [a.name for a in od.attrs]
        assert [op.attr_types[a.name] for a in od.attrs] == [a.type for a in od.attrs]


def test_linear_jit_2_6_2_contents():
    prog = _decode("2.6.2/linear/jit/model.pdmodel")
    assert prog.version == 2006002
    assert len(prog.op_version_map) == 68 and ("elementwise_add", 1) in prog.op_version_map
    block = prog.global_block()
    assert [op.type for op in block.ops] == ["feed", "matmul_v2", "elementwise_add", "scale", "fetch"]
    feed, matmul, add, scale, fetch = block.ops
    assert feed.inputs == {"X": ["feed"]} and feed.outputs == {"Out": ["x"]}
    assert feed.attrs["col"] == 0 and feed.attr_types["col"] == 0                  # INT
    assert feed.attrs["op_callstack"] == [] and feed.attr_types["op_callstack"] == 5
    assert matmul.inputs == {"X": ["x"], "Y": ["linear_0.w_0"]} and matmul.outputs == {"Out": ["linear_0.tmp_0"]}
    assert _own_attrs(matmul) == {"trans_x": False, "trans_y": False}
    assert matmul.attr_types["trans_x"] == 6                                        # BOOLEAN
    assert add.inputs == {"X": ["linear_0.tmp_0"], "Y": ["linear_0.b_0"]}
    assert _own_attrs(add) == {"axis": -1} and add.attr_types["axis"] == 0
    assert scale.inputs == {"ScaleTensor": [], "X": ["linear_0.tmp_1"]}
    assert _own_attrs(scale) == {"bias": 0.0, "bias_after_scale": True, "scale": 1.0}
    assert scale.attr_types["scale"] == 1                                           # FLOAT
    assert fetch.inputs == {"X": ["save_infer_model/scale_0.tmp_0"]} and fetch.outputs == {"Out": ["fetch"]}
    assert add.attrs["op_namescope"] == "/" and add.attrs["op_role"] == 0 and add.attrs["op_device"] == ""

    names = list(block.vars)
    assert names[-2:] == ["feed", "fetch"] and names[:-2] == sorted(names[:-2])
    x, w, b = block.vars["x"], block.vars["linear_0.w_0"], block.vars["linear_0.b_0"]
    assert (x.shape, x.dtype.name, x.persistable, x.need_check_feed) == ([-1, 6], "float32", False, None)
    assert x.extra.get("pdmodel_persistable_absent") is True      # jit.save writes no persistable on x
    assert (w.shape, w.persistable, w.lod_level, w.is_parameter) == ([6, 3], True, None, None)
    assert b.shape == [3]
    assert block.vars["linear_0.tmp_1"].lod_level == 0 and block.vars["linear_0.tmp_0"].lod_level is None
    assert block.vars["feed"].type == VarType.FEED_MINIBATCH and block.vars["fetch"].type == VarType.FETCH_LIST
    assert block.vars["feed"].shape is None
    assert [v.name for v in prog.persistable_vars()] == ["linear_0.b_0", "linear_0.w_0"]


def test_linear_3_3_1_legacy_contents():
    jit = _decode("3.3.1-legacy/linear/jit/model.pdmodel")
    static = _decode("3.3.1-legacy/linear/static/model.pdmodel")
    for prog in (jit, static):
        assert prog.version == 3003001 and len(prog.op_version_map) == 76
        assert [op.type for op in prog.global_block().ops] == ["feed", "matmul_v2", "elementwise_add", "fetch"]
        assert prog.global_block().ops[-1].inputs == {"X": ["linear_0.tmp_1"]}
    assert static.global_block().vars["x"].need_check_feed is True
    assert jit.global_block().vars["x"].need_check_feed is None


def test_misc_program_is_a_full_training_program():
    # FORMATS.md section 6 says static.nn.fc gives mul + elementwise_add(axis=1) "seen in
    # misc/program.pdmodel"; the fixture was in fact built with nn.Linear (make_fixtures.py), so it
    # holds matmul_v2 + elementwise_add(axis=-1), with the training-only fields and extra attrs.
    for flavour, extra in (("2.6.2", {"mkldnn_data_type", "use_mkldnn"}),
                           ("3.3.1-legacy", {"use_onednn", "onednn_data_type", "force_fp32_output"})):
        prog = _decode(f"{flavour}/misc/program.pdmodel")
        block = prog.global_block()
        assert [op.type for op in block.ops] == ["matmul_v2", "elementwise_add"]
        matmul, add = block.ops
        assert extra <= set(matmul.attrs)
        assert add.attrs["axis"] == -1 and add.attrs["Scale_x"] == 1.0 and add.attr_types["Scale_x"] == 1
        # attributes are not sorted in a training program (extras first): order is kept
        assert list(add.attrs)[0] == "Scale_out" and list(add.attrs) != sorted(add.attrs)
        w = block.vars["linear_0.w_0"]
        assert (w.is_parameter, w._stop_gradient, w.persistable) == (True, False, True)
        assert block.vars["x"]._stop_gradient is True and block.vars["x"].need_check_feed is True
        assert "feed" not in block.vars


def test_cnn_batch_norm_and_pool_attrs():
    prog = _decode("2.6.2/cnn/jit/model.pdmodel")
    ops = {op.type: op for op in prog.global_block().ops}
    bn = ops["batch_norm"]
    assert bn.inputs["MomentumTensor"] == [] and bn.outputs["MeanOut"] == bn.inputs["Mean"]
    assert bn.attrs["is_test"] is True and bn.attrs["use_global_stats"] is True
    assert bn.attrs["epsilon"] == pytest.approx(1e-5) and bn.attr_types["epsilon"] == 1
    assert ops["pool2d"].attrs["ksize"] == [2, 2] and ops["pool2d"].attr_types["ksize"] == 3
    assert ops["reshape2"].attrs["shape"] == [1, 4, 1, 1] and ops["reshape2"].outputs["XShape"]
    assert prog.global_block().vars["batch_norm_0.tmp_0"].shape == []      # dims absent: 0-d desc


def test_transformer_embedding_padding_idx_is_long():
    prog = _decode("2.6.2/transformer/jit/model.pdmodel")
    emb = next(op for op in prog.global_block().ops if op.type == "lookup_table_v2")
    assert emb.attrs["padding_idx"] == -1 and emb.attr_types["padding_idx"] == 9          # LONG
    assert prog.global_block().vars["x"].dtype.name == "int64"


# ------------------------------------------------------------------------------------------ fresh programs
def _fresh_linear(version=None):
    """nn.Linear(6, 3) as an inference program, built directly in the IR as sampan code would."""
    prog = Program()
    block = prog.global_block()
    block.create_var(name="x", shape=[-1, 6], dtype="float32", need_check_feed=True)
    block.create_var(name="linear_0.w_0", shape=[6, 3], dtype="float32", persistable=True)
    block.create_var(name="linear_0.b_0", shape=[3], dtype="float32", persistable=True)
    block.create_var(name="linear_0.tmp_0", shape=[-1, 3], dtype="float32")
    block.create_var(name="linear_0.tmp_1", shape=[-1, 3], dtype="float32")
    block.create_var(name="fetch", type=VarType.FETCH_LIST, persistable=True)
    block.create_var(name="feed", type=VarType.FEED_MINIBATCH, persistable=True)
    # attrs without recorded types: the encoder takes them from the registry or the values
    block.append_op("matmul_v2", {"Y": ["linear_0.w_0"], "X": ["x"]}, {"Out": ["linear_0.tmp_0"]},
                    {"trans_x": False, "trans_y": False})
    block.append_op("elementwise_add", {"Y": ["linear_0.b_0"], "X": ["linear_0.tmp_0"]},
                    {"Out": ["linear_0.tmp_1"]}, {"axis": -1})
    block._prepend_op("feed", {"X": ["feed"]}, {"Out": ["x"]}, {"col": 0})
    block.append_op("fetch", {"X": ["linear_0.tmp_1"]}, {"Out": ["fetch"]}, {"col": 0})
    prog.version = version
    return prog


def test_fresh_program_matches_paddle_3_3_1_bytes():
    # Paddle 3.3.1 (legacy IR) save_inference_model of nn.Linear(6, 3); op_callstack was cleared in
    # the fixture, which is also what sampan writes. Only the op_version_map is copied from the file.
    data = _read("3.3.1-legacy/linear/static/model.pdmodel")
    prog = add_common_attrs(_fresh_linear(version=3003001))
    prog.op_version_map = decode_program(data).op_version_map
    assert encode_program(prog, canonical=True) == data


def test_fresh_program_canonical_defaults():
    prog = add_common_attrs(_fresh_linear())
    data = encode_program(prog, canonical=True)
    desc = pb.ProgramDesc()
    desc.ParseFromString(data)
    assert desc.version.version == DEFAULT_VERSION == 2006002 and not desc.HasField("op_version_map")
    bd = desc.blocks[0]
    assert [v.name for v in bd.vars] == ["linear_0.b_0", "linear_0.tmp_0", "linear_0.tmp_1", "linear_0.w_0", "x",
                                         "feed", "fetch"]
    assert all(v.HasField("persistable") for v in bd.vars)
    lod = {v.name: v.type.dense_tensor.HasField("legacy_lod_level") for v in bd.vars if v.type.type == 7}
    assert lod == {"linear_0.b_0": False, "linear_0.w_0": False, "linear_0.tmp_0": True, "linear_0.tmp_1": True,
                   "x": True}
    for od in bd.ops:
        assert [a.name for a in od.attrs] == sorted(a.name for a in od.attrs)
        assert [v.parameter for v in od.inputs] == sorted(v.parameter for v in od.inputs)
    matmul = {a.name: a for a in bd.ops[1].attrs}
    assert matmul["trans_x"].type == pb.BOOLEAN and matmul["trans_x"].HasField("b") and not matmul["trans_x"].b
    feed = {a.name for a in bd.ops[0].attrs}
    assert feed == {"col", "op_callstack", "op_device", "op_namescope", "op_role", "op_role_var", "with_quant_attr"}
    assert {a.name for a in bd.ops[2].attrs} == {"axis", "op_device", "op_namescope", "op_role", "op_role_var"}
    # the program itself was not reordered
    assert list(prog.global_block().vars)[-1] == "feed"


def test_fresh_program_encode_decode_round_trip():
    prog = add_common_attrs(_fresh_linear())
    data = encode_program(prog, canonical=True)
    back = decode_program(data)
    assert encode_program(back) == data                      # exact mode reproduces the canonical bytes
    assert encode_program(back, canonical=True) == data      # canonical is idempotent
    b0, b1 = prog.global_block(), back.global_block()
    assert sorted(b0.vars) == sorted(b1.vars)
    for name, v in b0.vars.items():
        w = b1.vars[name]
        assert (v.shape, v.dtype, v.type, v.persistable, v.need_check_feed) == \
               (w.shape, w.dtype, w.type, w.persistable, w.need_check_feed)
    assert [o.type for o in b0.ops] == [o.type for o in b1.ops]
    for o, p in zip(b0.ops, b1.ops):
        assert o.inputs == p.inputs and o.outputs == p.outputs
        assert o.attrs == {k: v for k, v in p.attrs.items() if k in o.attrs}
    assert back.version == 2006002


def test_canonical_fills_attributes_declared_in_the_registry():
    from sampan.ops.registry import get_op
    declared = get_op("matmul_v2").attrs
    prog = Program()
    prog.global_block().append_op("matmul_v2", {"X": ["x"], "Y": ["w"]}, {"Out": ["y"]})
    op = decode_program(encode_program(prog, canonical=True)).global_block().ops[0]
    assert {"trans_x", "trans_y"} <= set(declared)
    assert op.attrs == {k: s.default for k, s in declared.items()}
    assert op.attr_types == {k: s.code for k, s in declared.items()}
    assert list(op.attrs) == sorted(op.attrs)
    # exact mode writes only what the op holds
    assert decode_program(encode_program(prog)).global_block().ops[0].attrs == {}


def test_exact_mode_keeps_ir_order_and_absence():
    prog = _fresh_linear()
    desc = pb.ProgramDesc()
    desc.ParseFromString(encode_program(prog))
    assert not desc.HasField("version")
    bd = desc.blocks[0]
    assert [v.name for v in bd.vars][-2:] == ["fetch", "feed"]
    assert [v.parameter for v in bd.ops[1].inputs] == ["Y", "X"]
    assert not any(v.type.dense_tensor.HasField("legacy_lod_level") for v in bd.vars)


def test_attr_types_all_kinds_round_trip():
    prog = Program()
    block = prog.global_block()
    block.create_var(name="a", shape=[2], dtype="float64")
    values = {"i": (0, -3), "f": (1, 0.5), "s": (2, "txt"), "ints": (3, [1, -2]), "floats": (4, [0.25]),
              "strings": (5, ["u", "v"]), "b": (6, True), "bools": (7, [True, False]), "blk": (8, 0),
              "l": (9, 1 << 40), "blks": (10, [0]), "longs": (11, [1 << 40, -1]), "f64s": (12, [0.1]),
              "var": (13, "a"), "vars": (14, ["a"]), "f64": (15, 0.1), "sc": (16, 2.5), "scs": (17, [True, 3, 1j])}
    block.append_op("custom_kinds", {"X": ["a"]}, {"Out": ["a"]}, {k: v for k, (_, v) in values.items()},
                    {k: c for k, (c, _) in values.items()})
    block.vars["a"].attrs = [("origin", 2, "here"), ("n", 0, 7), ("dims", 3, [1, 2])]
    data = encode_program(prog)
    back = decode_program(data)
    op = back.global_block().ops[0]
    assert op.attrs == {k: v for k, (_, v) in values.items()}
    assert op.attr_types == {k: c for k, (c, _) in values.items()}
    assert back.global_block().vars["a"].attrs == [("origin", 2, "here"), ("n", 0, 7), ("dims", 3, [1, 2])]
    assert encode_program(back) == data


def test_unrepresentable_values_are_reported():
    prog = Program()
    prog.global_block().append_op("relu", {"X": ["x"]}, {"Out": ["y"]}, {"n": 1 << 40}, {"n": 0})
    with pytest.raises(ProgramEncodeError, match=r"op 0 \(relu\).*'n' of type INT"):
        encode_program(prog)
    prog = Program()
    prog.global_block().append_op("relu", {"X": ["x"]}, {"Out": ["y"]}, {"weird": object()})
    with pytest.raises(ProgramEncodeError, match="weird"):
        encode_program(prog)


def test_inferred_attr_types_for_unknown_ops():
    prog = Program()
    attrs = {"a": 1, "b": 1.5, "c": "s", "d": [1, 2], "e": [1.0], "f": ["x"], "g": True, "h": 1 << 40}
    prog.global_block().append_op("not_a_registered_op", {}, {}, attrs)
    op = decode_program(encode_program(prog)).global_block().ops[0]
    assert op.attr_types == {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4, "f": 5, "g": 6, "h": 9}
    assert op.attrs == attrs


def test_numpy_attr_values_are_accepted():
    prog = Program()
    attrs = {"a": np.int64(3), "d": [np.int32(1)], "f": np.float32(0.5)}
    prog.global_block().append_op("not_a_registered_op", {}, {}, attrs, {"a": 0, "d": 3, "f": 1})
    op = decode_program(encode_program(prog)).global_block().ops[0]
    assert op.attrs == {"a": 3, "d": [1], "f": 0.5}


# ------------------------------------------------------------------------------------------ bad input
def test_truncated_file_is_reported():
    data = _read("2.6.2/linear/jit/model.pdmodel")
    with pytest.raises(ProgramDescError, match="truncated or corrupt") as e:
        decode_program(data[:1000], path="m.pdmodel")
    assert "m.pdmodel" in str(e.value) and isinstance(e.value, ValueError)


def test_empty_and_pir_inputs_are_reported():
    with pytest.raises(ProgramDescError, match="no blocks"):
        decode_program(b"")
    with pytest.raises(FormatMismatchError, match="PIR"):
        decode_program(_read("3.3.1-pir/linear/jit/model.json"))
    with pytest.raises(FormatError):
        decode_program(b"\xff\xff\xff")
    desc = pb.ProgramDesc()
    desc.blocks.add(idx=0, parent_idx=-1).vars.add(name="x")       # VarDesc.type is required
    with pytest.raises(ProgramDescError, match=r"required fields \(blocks\[0\]\.vars\[0\]\.type"):
        decode_program(desc.SerializePartialToString())


# ------------------------------------------------------------------------------------------ running
RUN_CASES = [(fl, m, k) for fl in LEGACY for m in ("linear", "mlp", "cnn", "transformer") for k in ("jit", "static")
             if os.path.exists(os.path.join(FIX, fl, m, k, "model.pdmodel"))]


@pytest.mark.parametrize("flavour,model,kind", RUN_CASES)
def test_decoded_program_reproduces_paddle_output(flavour, model, kind):
    prog = _decode(f"{flavour}/{model}/{kind}/model.pdmodel")
    missing = program_runner.missing_ops(prog)
    if missing:
        pytest.skip(f"op kernels not in the registry yet: {', '.join(missing)}")
    names = program_runner.persistable_names(prog)
    params = program_runner.read_pdiparams(_read(f"{flavour}/{model}/{kind}/model.pdiparams"), names)
    x = np.load(os.path.join(FIX, flavour, model, "input.npy"))
    feed_name = next(op.output("Out")[0] for op in prog.global_block().ops if op.type == "feed")
    (out,) = program_runner.run(prog, params, {feed_name: x})
    expected = np.load(os.path.join(FIX, flavour, model, f"{kind}_output.npy"))
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_what_the_ir_cannot_express_is_kept_verbatim():
    desc = pb.ProgramDesc()
    b0 = desc.blocks.add(idx=0, parent_idx=-1)
    fp8 = b0.vars.add(name="q", persistable=True)
    fp8.type.type = pb.VarType.DENSE_TENSOR
    fp8.type.dense_tensor.tensor.data_type = pb.VarType.FP8_E4M3FN     # no NumPy dtype in sampan
    fp8.type.dense_tensor.tensor.dims.extend([2, 2])
    reader = b0.vars.add(name="r")
    reader.type.type = pb.VarType.READER
    reader.type.reader.dense_tensor.add().tensor.data_type = pb.VarType.FP32
    arr = b0.vars.add(name="arr", persistable=False)
    arr.type.type = pb.VarType.DENSE_TENSOR_ARRAY
    arr.type.tensor_array.tensor.data_type = pb.VarType.INT64
    arr.type.tensor_array.legacy_lod_level = 1
    op = b0.ops.add(type="while", is_target=True)
    op.attrs.add(name="sub_block", type=pb.BLOCK, block_idx=1)
    b1 = desc.blocks.add(idx=1, parent_idx=0, forward_block_idx=0)
    b1.ops.add(type="relu")
    data = desc.SerializeToString()
    prog = decode_program(data)
    assert prog.version is None and prog.op_version_map is None
    assert prog.block(1).parent_idx == 0 and prog.block(1).forward_block_idx == 0
    assert prog.global_block().ops[0].is_target is True and prog.global_block().ops[0].attrs == {"sub_block": 1}
    a = prog.global_block().vars["arr"]
    assert (a.type, a.dtype.name, a.lod_level, "pdmodel_vartype" in a.extra) == (13, "int64", 1, False)
    assert prog.global_block().vars["q"].shape == [2, 2] and prog.global_block().vars["q"].dtype is None
    assert encode_program(prog) == data
    # once the IR fields change the kept bytes are stale: a shape without a writable dtype is refused
    prog.global_block().vars["q"].shape = [3]
    with pytest.raises(ProgramEncodeError, match="'q' has shape \\[3\\] but no dtype"):
        encode_program(prog)
