"""DenseTensor streams, .pdiparams, .pdiparams.info and format sniffing against real Paddle files."""
import io
import json
import os
import struct

import numpy as np
import pytest

from sampan.core.dtype import BY_NAME
from sampan.formats import tensor_stream as ts
from sampan.formats.errors import CorruptFileError, FormatMismatchError

PADDLE_FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "paddle")
FLAVOURS = ["2.6.2", "3.3.1-legacy", "3.3.1-pir"]


def _fx(*parts):
    return os.path.join(PADDLE_FIXTURES, *parts)


def _bytes(path):
    with open(path, "rb") as f:
        return f.read()


def test_bias_stream_bytes_as_documented():
    # FORMATS 3.1: bias linear_0.b_0 of the 2.6.2 linear jit model, 36 bytes
    data = _bytes(_fx("2.6.2", "linear", "jit", "model.pdiparams"))
    bias, dt, lod = ts.read_dense_tensor(data[:36])
    assert data[:20].hex() == "00000000" + "00" * 8 + "00000000" + "04000000"
    assert data[20:24] == bytes([0x08, 0x05, 0x10, 0x03])
    assert dt is BY_NAME["float32"] and lod == [] and bias.shape == (3,)
    z = np.load(_fx("2.6.2", "linear", "reference_params.npz"))
    assert np.array_equal(bias, z["fc.bias"])


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_binary_format_tensor_file(flavour):
    path = _fx(flavour, "misc", "tensor_binary.bin")
    arr, dt, lod = ts.read_tensor(path)
    ref = np.load(_fx(flavour, "misc", "reference_misc.npz"))["tensor"]
    assert np.array_equal(arr, ref) and arr.dtype == ref.dtype and lod == []
    buf = io.BytesIO()
    ts.write_dense_tensor(buf, arr, dt)
    assert buf.getvalue() == _bytes(path)
    assert np.array_equal(ts.read_tensor_file(path, mmap=True), ref)


def _pdiparams_cases():
    out = []
    for flavour in FLAVOURS:
        m = json.load(open(_fx(flavour, "MANIFEST.json")))
        for model, info in m["models"].items():
            for sub in ("jit", "static"):
                if os.path.isfile(_fx(flavour, model, sub, "model.pdiparams")):
                    if sub == "jit":
                        names = {v["tensor_name"]: k for k, v in info["state_dict"].items()}
                    else:
                        names = {v: k for k, v in info["static"]["structured_to_static_var_name"].items()}
                    out.append((flavour, model, sub, names))
    return out


@pytest.mark.parametrize("flavour,model,sub,names", _pdiparams_cases(),
                         ids=lambda x: x if isinstance(x, str) else "")
def test_pdiparams_read_and_rewrite_byte_exact(flavour, model, sub, names):
    path = _fx(flavour, model, sub, "model.pdiparams")
    ref = np.load(_fx(flavour, model, "reference_params.npz"))
    order = sorted(names)
    got = ts.read_pdiparams(path, order)
    assert list(got) == order
    for n in order:
        assert np.array_equal(got[n], ref[names[n]]) and got[n].dtype == ref[names[n]].dtype
    buf = io.BytesIO()
    ts.write_pdiparams(buf, {n: got[n] for n in reversed(order)})   # written sorted whatever the input order
    assert buf.getvalue() == _bytes(path)
    mapped = ts.read_pdiparams(path, order, mmap=True)
    assert all(np.array_equal(mapped[n], got[n]) for n in order)


@pytest.mark.parametrize("flavour", ["2.6.2", "3.3.1-legacy"])
def test_pdiparams_info_round_trip(flavour):
    path = _fx(flavour, "cnn", "jit", "model.pdiparams.info")
    info = ts.read_pdiparams_info(path)
    assert info["batch_norm2d_0.w_1"] == {"structured_name": "bn._mean", "stop_gradient": True, "trainable": False}
    buf = io.BytesIO()
    ts.write_pdiparams_info(buf, info)
    assert buf.getvalue() == _bytes(path)


ALL_DTYPES = ["bool", "int16", "int32", "int64", "float16", "float32", "float64", "uint8", "int8", "bfloat16",
              "complex64", "complex128"]


@pytest.mark.parametrize("name", ALL_DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3, 4)])
def test_every_dtype_and_shape_round_trips(name, shape):
    dt = BY_NAME[name]
    rng = np.random.default_rng(0)
    arr = (rng.standard_normal(shape) * 50).astype(dt.np)
    buf = io.BytesIO()
    ts.write_dense_tensor(buf, arr, dtype=name)
    data = buf.getvalue()
    assert struct.unpack_from("<i", data, 16)[0] == len(ts.encode_tensor_desc(dt.proto, shape))
    got, gdt, lod = ts.read_dense_tensor(data)
    assert gdt is dt and got.shape == shape and got.dtype == dt.np and np.array_equal(got, arr)


def test_uint16_defaults_to_bfloat16_code_and_lod_round_trip():
    buf = io.BytesIO()
    ts.write_dense_tensor(buf, np.array([1, 2], np.uint16))
    assert ts.read_dense_tensor(buf.getvalue())[1].name == "bfloat16"
    buf = io.BytesIO()
    ts.write_dense_tensor(buf, np.arange(5, dtype=np.float32), lod=[[0, 2, 5]])
    arr, _, lod = ts.read_dense_tensor(buf.getvalue())
    assert lod == [[0, 2, 5]] and np.array_equal(arr, np.arange(5))
    data = buf.getvalue()
    assert struct.unpack_from("<QQ", data, 4) == (1, 24)   # one level of 3 offsets


def test_negative_dims_encode_as_ten_byte_varints():
    desc = ts.encode_tensor_desc(5, [-1, 3])
    assert desc == b"\x08\x05\x10" + b"\xff" * 9 + b"\x01" + b"\x10\x03"
    assert ts.decode_tensor_desc(desc) == (5, [-1, 3])
    assert ts.decode_tensor_desc(b"\x08\x05\x12\x02\x06\x03") == (5, [6, 3])   # packed dims accepted


def test_truncated_and_wrong_counts(tmp_path):
    path = _fx("3.3.1-pir", "cnn", "jit", "model.pdiparams")
    data = _bytes(path)
    names = sorted(["batch_norm2d_0.b_0", "batch_norm2d_0.w_0", "batch_norm2d_0.w_1", "batch_norm2d_0.w_2",
                    "conv2d_0.b_0", "conv2d_0.w_0", "linear_0.b_0", "linear_0.w_0"])
    cut = tmp_path / "cut.pdiparams"
    cut.write_bytes(data[:-10])
    with pytest.raises(CorruptFileError, match=rf"truncated: {len(data) - 10} of at least {len(data)} bytes") as e:
        ts.read_pdiparams(str(cut), names)
    assert "holds 7 complete tensors" in str(e.value) and str(cut) in str(e.value)
    with pytest.raises(FormatMismatchError, match="more data than the 7 parameters"):
        ts.read_pdiparams(path, names[:7])
    with pytest.raises(FormatMismatchError, match="combined .pdiparams"):
        ts.read_tensor(path)
    assert [d for _, _, d in ts.scan_pdiparams(data)][:2] == [[4], [4]]


def test_corrupt_header_fails_before_allocating():
    header = ts.dense_tensor_header((1 << 40,), BY_NAME["float64"])   # claims 8 TiB
    with pytest.raises(CorruptFileError, match=r"truncated: \d+ of at least 8796093022\d+ bytes"):
        ts.read_dense_tensor(header + b"\0" * 16)
    with pytest.raises(CorruptFileError, match="DenseTensor version 7"):
        ts.read_dense_tensor(b"\x07" + header[1:])


@pytest.mark.parametrize("rel,kind", [
    ("2.6.2/linear/model.pdparams", "pickle"),
    ("3.3.1-legacy/misc/mlp_protocol2.pdparams", "pickle"),
    ("2.6.2/linear/jit/model.pdiparams.info", "pickle"),
    ("2.6.2/linear/jit/model.pdiparams", "tensor_stream"),
    ("3.3.1-pir/misc/tensor_binary.bin", "tensor_stream"),
    ("2.6.2/misc/program.pdmodel", "programdesc"),
    ("3.3.1-legacy/cnn/static/model.pdmodel", "programdesc"),
    ("3.3.1-pir/misc/program.pdmodel", "pir_json"),
    ("3.3.1-pir/cnn/jit/model.json", "pir_json"),
    ("2.6.2/linear/input.npy", "unknown"),
])
def test_sniff(rel, kind):
    assert ts.sniff(_fx(*rel.split("/"))) == kind


def test_sniff_edge_cases():
    assert ts.sniff(b"") == "empty"
    assert ts.sniff(b"\x13" + np.random.default_rng(0).bytes(63)) == "unknown"
    assert ts.sniff(b'{\n    "base_code": {') == "pir_json"
