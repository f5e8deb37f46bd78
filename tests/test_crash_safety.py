"""A save killed at any point leaves the previous checkpoint or the new one, never a partial file.

A child process saves a ~300 MB state dict over an existing checkpoint and is SIGKILLed at chosen
points of the write (before the first byte, mid-payload, before fsync, before the rename, after the
rename) and once after a timer. The target must then load as exactly the old or the new state,
and the temporary file left by the dead writer must be removed by the next save.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import sampan as paddle
from sampan import Tensor
from sampan.formats import atomic

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = 25_000_000            # float32 elements per tensor: 3 x 100 MB
MB = 1 << 20

_CHILD = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    import sampan as paddle
    from sampan import Tensor

    target, point, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    state = {f"w{i}": Tensor(np.full(n, 2.0, np.float32), name=f"w_{i}") for i in range(3)}
    state["step"] = Tensor(np.array([2], np.int64), name="step_0")

    def die(*_):
        os.kill(os.getpid(), signal.SIGKILL)

    if point in ("first_write", "mid_payload"):
        limit = 0 if point == "first_write" else 150 << 20
        real_fdopen = os.fdopen

        class Killer:
            def __init__(self, f):
                self.f, self.n = f, 0
            def write(self, b):
                self.n += memoryview(b).nbytes
                if self.n > limit:
                    if limit:
                        self.f.write(b)
                        self.f.flush()     # the partial data really is in the temp file
                    die()
                return self.f.write(b)
            def __getattr__(self, k):
                return getattr(self.f, k)

        os.fdopen = lambda fd, *a, **k: Killer(real_fdopen(fd, *a, **k))
    elif point == "before_fsync":
        os.fsync = die
    elif point == "before_rename":
        os.replace = die
    elif point == "after_rename":
        calls = []
        real_fsync = os.fsync
        os.fsync = lambda fd: die() if calls.append(fd) or len(calls) == 2 else real_fsync(fd)
    print("saving", flush=True)
    paddle.save(state, target)
    print("saved", flush=True)
""")


def _old_state():
    state = {f"w{i}": Tensor(np.full(1000, 1.0, np.float32), name=f"w_{i}") for i in range(3)}
    state["step"] = Tensor(np.array([1], np.int64), name="step_0")
    return state


def _which(target, n):
    """'old' or 'new' when the target is one complete checkpoint, else fail."""
    got = paddle.load(target, return_numpy=True, mmap=True)
    assert sorted(got) == ["step", "w0", "w1", "w2"]
    step = int(got["step"][0])
    size = 1000 if step == 1 else n
    for i in range(3):
        w = got[f"w{i}"]
        assert w.shape == (size,) and np.all(w == float(step)), f"w{i} is not complete"
    return {1: "old", 2: "new"}[step]


def _run_child(script, target, point, n, kill_after=None):
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen([sys.executable, str(script), target, point, str(n)], stdout=subprocess.PIPE, env=env)
    if kill_after is not None:
        assert proc.stdout.readline().strip() == b"saving"
        time.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=120)
    return proc.returncode


POINTS = [("first_write", "old"), ("mid_payload", "old"), ("before_fsync", "old"), ("before_rename", "old"),
          ("after_rename", "new")]


@pytest.mark.slow
def test_sigkill_during_save_keeps_a_complete_checkpoint(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    target = str(tmp_path / "ckpt" / "model.pdparams")
    for point, expected in POINTS:
        paddle.save(_old_state(), target)
        assert not atomic.stale_temp_files(target)
        assert _run_child(script, target, point, N) == -signal.SIGKILL, point
        assert _which(target, N) == expected, point
        left = atomic.stale_temp_files(target)
        if expected == "old":
            assert len(left) == 1, point             # the dead writer's temp file...
            if point == "mid_payload":
                assert os.path.getsize(left[0]) > 150 * MB
        paddle.save(_old_state(), target)             # ...is removed by the next save
        assert os.listdir(os.path.dirname(target)) == ["model.pdparams"], point
    # and a kill at an arbitrary moment of a real save
    for delay in (0.05, 0.3):
        paddle.save(_old_state(), target)
        code = _run_child(script, target, "timed", N, kill_after=delay)
        assert code in (-signal.SIGKILL, 0)
        assert _which(target, N) in ("old", "new")
    paddle.save(_old_state(), target)
    assert os.listdir(os.path.dirname(target)) == ["model.pdparams"]


def test_exception_during_save_keeps_old_file_and_leaves_no_temp(tmp_path):
    target = str(tmp_path / "m.pdparams")
    paddle.save(_old_state(), target)
    before = open(target, "rb").read()

    class Boom:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        paddle.save({"w": np.ones(1 << 20, np.float32), "x": Boom()}, target)
    assert open(target, "rb").read() == before
    assert os.listdir(tmp_path) == ["m.pdparams"]


def test_temp_files_of_live_writers_are_kept(tmp_path):
    target = str(tmp_path / "m.pdparams")
    mine = os.path.join(str(tmp_path), ".m.pdparams" + atomic.TEMP_MARK + f"{os.getpid()}-abcd")
    dead = os.path.join(str(tmp_path), ".m.pdparams" + atomic.TEMP_MARK + "999999999-abcd")
    other = os.path.join(str(tmp_path), ".other" + atomic.TEMP_MARK + "999999999-abcd")
    for p in (mine, dead, other):
        open(p, "wb").close()
    paddle.save({"w": paddle.ones([1])}, target)
    assert sorted(os.listdir(tmp_path)) == sorted([os.path.basename(mine), os.path.basename(other), "m.pdparams"])


def test_permissions_and_symlinks_are_preserved(tmp_path):
    real = tmp_path / "real.pdparams"
    paddle.save({"w": paddle.ones([1])}, str(real))
    os.chmod(real, 0o640)
    link = tmp_path / "link.pdparams"
    os.symlink(real, link)
    paddle.save({"w": paddle.zeros([1])}, str(link))
    assert os.path.islink(link) and (os.stat(real).st_mode & 0o777) == 0o640
    assert paddle.load(str(real))["w"].numpy().tolist() == [0.0]
