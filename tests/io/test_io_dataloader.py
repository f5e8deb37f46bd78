"""``sampan.io.DataLoader``: batching, shuffling, and worker processes (order, seeds, errors, shutdown)."""
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import sampan as paddle
from sampan.io import DataLoader, Dataset, IterableDataset, TensorDataset, get_worker_info

IMAGE_SIZE, CLASS_NUM = 784, 10


class RandomDataset(Dataset):
    """The guide's dataset (random on every access)."""

    def __init__(self, num_samples):
        self.num_samples = num_samples

    def __getitem__(self, idx):
        image = np.random.random([IMAGE_SIZE]).astype('float32')
        label = np.random.randint(0, CLASS_NUM - 1, (1, )).astype('int64')
        return image, label

    def __len__(self):
        return self.num_samples


class IndexDataset(Dataset):
    """Deterministic: sample i is ([i, i, i] float32, [i] int64)."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, idx):
        return np.full([3], idx, "float32"), np.array([idx], "int64")

    def __len__(self):
        return self.n


class FailingDataset(IndexDataset):
    def __getitem__(self, idx):
        if idx == 13:
            raise KeyError("sample 13 is corrupt")
        return super().__getitem__(idx)


class CrashingDataset(IndexDataset):
    def __getitem__(self, idx):
        if idx == 5:
            os._exit(3)
        return super().__getitem__(idx)


class SlowDataset(IndexDataset):
    def __getitem__(self, idx):
        time.sleep(30)
        return super().__getitem__(idx)


class PidDataset(IndexDataset):
    def __getitem__(self, idx):
        info = get_worker_info()
        return np.array([idx, os.getpid(), -1 if info is None else info.id, -1 if info is None else info.num_workers])


class RangeStream(IterableDataset):
    """0..n-1, shared among workers by get_worker_info (every sample read exactly once)."""

    def __init__(self, n, split=True):
        self.n, self.split = n, split

    def __iter__(self):
        info = get_worker_info()
        lo, step = (0, 1) if info is None or not self.split else (info.id, info.num_workers)
        for i in range(lo, self.n, step):
            yield np.array([i], "int64")


def _values(loader):
    return [[t.numpy().copy() for t in batch] for batch in loader]


# ----------------------------------------------------------------------------- single process
def test_guide_random_dataset_batches_have_the_guides_shapes_and_dtypes():
    loader = DataLoader(RandomDataset(64), batch_size=16, shuffle=True, drop_last=True)
    batches = list(loader())
    assert len(batches) == 4 == len(loader)
    for image, label in batches:
        assert isinstance(image, paddle.Tensor) and image.shape == [16, 784] and image.dtype == paddle.float32
        assert isinstance(label, paddle.Tensor) and label.shape == [16, 1] and label.dtype == paddle.int64
        assert image.stop_gradient and 0 <= label.numpy().min() and label.numpy().max() < CLASS_NUM


def test_drop_last_and_len():
    ds = IndexDataset(10)
    keep = DataLoader(ds, batch_size=4)
    assert len(keep) == 3 and [b[0].shape[0] for b in keep] == [4, 4, 2]
    drop = DataLoader(ds, batch_size=4, drop_last=True)
    assert len(drop) == 2 and [b[0].shape[0] for b in drop] == [4, 4]


def test_unshuffled_order_and_values():
    (x0, y0), (x1, y1) = DataLoader(IndexDataset(4), batch_size=2)
    np.testing.assert_array_equal(y0.numpy(), [[0], [1]])
    np.testing.assert_array_equal(x1.numpy(), [[2, 2, 2], [3, 3, 3]])


def test_shuffle_reproducible_under_paddle_seed():
    loader = DataLoader(IndexDataset(32), batch_size=8, shuffle=True)
    paddle.seed(5)
    a = [b[1].numpy().ravel().tolist() for b in loader]
    a_next_epoch = [b[1].numpy().ravel().tolist() for b in loader]
    paddle.seed(5)
    b = [b[1].numpy().ravel().tolist() for b in loader]
    assert a == b
    assert sorted(sum(a, [])) == list(range(32)) and sum(a, []) != list(range(32))
    assert a_next_epoch != a  # a new permutation every epoch


def test_batch_size_none_yields_single_samples_and_batch_sampler_is_used():
    out = list(DataLoader(IndexDataset(3), batch_size=None))
    assert len(out) == 3 and out[2][0].shape == [3] and int(out[2][1]) == 2
    bs = paddle.io.BatchSampler(dataset=IndexDataset(5), batch_size=2, drop_last=True)
    loader = DataLoader(IndexDataset(5), batch_sampler=bs)
    assert len(loader) == 2 and [b[1].numpy().ravel().tolist() for b in loader] == [[0, 1], [2, 3]]
    with pytest.raises(ValueError, match="batch_sampler excludes batch_size"):
        DataLoader(IndexDataset(5), batch_sampler=bs, batch_size=4)


def test_dict_samples_and_custom_collate_fn():
    class D(IndexDataset):
        def __getitem__(self, idx):
            return {"x": np.full([2], idx, "float32"), "meta": {"id": idx}}

    batch = next(iter(DataLoader(D(4), batch_size=4)))
    assert batch["x"].shape == [4, 2] and batch["meta"]["id"].numpy().tolist() == [0, 1, 2, 3]
    loader = DataLoader(IndexDataset(4), batch_size=2, collate_fn=lambda s: np.stack([x for x, _ in s]).sum())
    assert [float(v) for v in loader] == [3.0, 15.0]


@pytest.mark.parametrize("num_workers", [0, 2])
def test_tensor_dataset_through_loader(num_workers):
    x = paddle.to_tensor(np.arange(8, dtype="float32").reshape(4, 2))
    y = paddle.to_tensor(np.arange(4, dtype="int64"))
    batches = list(DataLoader(TensorDataset([x, y]), batch_size=2, num_workers=num_workers))
    assert len(batches) == 2 and all(isinstance(t, paddle.Tensor) for b in batches for t in b)
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in batches]), x.numpy())
    assert batches[1][1].dtype == paddle.int64 and batches[1][1].numpy().tolist() == [2, 3]


def test_iterable_dataset_single_process():
    loader = DataLoader(RangeStream(7), batch_size=3)
    assert [b.numpy().ravel().tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6]]
    loader = DataLoader(RangeStream(7), batch_size=3, drop_last=True)
    assert [b.numpy().ravel().tolist() for b in loader] == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(ValueError, match="shuffle=True is not possible with an IterableDataset"):
        DataLoader(RangeStream(7), shuffle=True)
    with pytest.raises(TypeError, match="no __len__"):
        len(DataLoader(RangeStream(7)))


def test_argument_errors():
    with pytest.raises(ValueError, match="num_workers must be a non-negative integer"):
        DataLoader(IndexDataset(2), num_workers=-1)
    with pytest.raises(ValueError, match="batch_size must be a positive integer or None"):
        DataLoader(IndexDataset(2), batch_size=0)
    with pytest.raises(ValueError, match="timeout"):
        DataLoader(IndexDataset(2), timeout=-1)


# ----------------------------------------------------------------------------- worker processes
def test_workers_give_the_same_batches_as_the_main_process():
    ds = IndexDataset(37)
    paddle.seed(9)
    single = [_values(DataLoader(ds, batch_size=5, shuffle=True)) for _ in range(1)][0]
    paddle.seed(9)
    multi = _values(DataLoader(ds, batch_size=5, shuffle=True, num_workers=2))
    assert len(single) == len(multi) == 8
    for s, m in zip(single, multi):
        for a, b in zip(s, m):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


def test_shuffle_does_not_depend_on_num_workers_over_epochs():
    ds = IndexDataset(20)
    orders = []
    for nw in (0, 2):
        paddle.seed(4)
        loader = DataLoader(ds, batch_size=4, shuffle=True, num_workers=nw)
        orders.append([[b[1].numpy().ravel().tolist() for b in loader] for _ in range(3)])
    assert orders[0] == orders[1]


def test_random_dataset_differs_per_worker_and_is_reproducible():
    loader = DataLoader(RandomDataset(64), batch_size=8, num_workers=2)
    paddle.seed(21)
    a = [b[0].numpy().copy() for b in loader]
    paddle.seed(21)
    b = [b[0].numpy().copy() for b in loader]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    firsts = [x[0, :4].tolist() for x in a]
    assert len({tuple(f) for f in firsts}) == len(firsts)  # worker 0 and worker 1 do not repeat each other
    c = [b[0].numpy().copy() for b in loader]  # next epoch: new worker seeds
    assert not np.array_equal(a[0], c[0])


def test_worker_info_and_worker_init_fn():
    seen = []

    def init(worker_id):
        info = get_worker_info()
        assert info is not None and info.id == worker_id and info.num_workers == 2
        np.random.seed(1000 + worker_id)

    loader = DataLoader(PidDataset(8), batch_size=2, num_workers=2, worker_init_fn=init)
    for (batch,) in [(b,) for b in loader]:
        seen.append(batch.numpy())
    rows = np.concatenate(seen)
    assert rows[:, 0].tolist() == list(range(8))
    assert set(rows[:, 2].tolist()) == {0, 1} and set(rows[:, 3].tolist()) == {2}
    assert os.getpid() not in set(rows[:, 1].tolist())
    assert get_worker_info() is None


def test_worker_exception_names_worker_and_index():
    loader = DataLoader(FailingDataset(32), batch_size=4, num_workers=2)
    with pytest.raises(KeyError) as e:
        list(loader)
    msg = str(e.value)
    assert "DataLoader worker 1" in msg and "dataset index 13" in msg and "sample 13 is corrupt" in msg
    assert "[12, 13, 14, 15]" in msg and "__getitem__" in msg  # the batch and the worker's traceback


def test_worker_init_fn_error_is_reported():
    def init(worker_id):
        raise ValueError("bad init")

    with pytest.raises(ValueError, match="worker 0 raised ValueError in worker_init_fn: bad init"):
        list(DataLoader(IndexDataset(4), batch_size=2, num_workers=2, worker_init_fn=init))


def test_dead_worker_is_detected():
    with pytest.raises(RuntimeError, match=r"DataLoader worker 1 \(pid \d+\) exited unexpectedly with exit code 3"):
        list(DataLoader(CrashingDataset(16), batch_size=4, num_workers=2))


def test_timeout_is_honoured():
    loader = DataLoader(SlowDataset(4), batch_size=2, num_workers=1, timeout=0.5)
    it = iter(loader)
    with pytest.raises(RuntimeError, match=r"timed out.*timeout=0.5"):
        next(it)
    assert all(not w.is_alive() for w in it._pool.workers)  # the stuck worker was stopped


def test_workers_stop_after_the_epoch_and_after_an_early_break():
    loader = DataLoader(IndexDataset(40), batch_size=2, num_workers=2)
    it = iter(loader)
    list(it)
    assert all(not w.is_alive() for w in it._pool.workers)
    it = iter(loader)
    next(it)
    pool = it._pool
    del it
    assert all(not w.is_alive() for w in pool.workers)


def test_iterable_dataset_with_workers():
    loader = DataLoader(RangeStream(11), batch_size=2, num_workers=2)
    batches = [b.numpy().ravel().tolist() for b in loader]
    # worker 0 streams 0,2,4,..., worker 1 streams 1,3,5,...; batches alternate between them
    assert batches == [[0, 2], [1, 3], [4, 6], [5, 7], [8, 10], [9]]
    loader = DataLoader(RangeStream(11), batch_size=2, num_workers=2, drop_last=True)
    assert [b.numpy().ravel().tolist() for b in loader] == [[0, 2], [1, 3], [4, 6], [5, 7], [8, 10]]
    dup = DataLoader(RangeStream(3, split=False), batch_size=3, num_workers=2)
    assert [b.numpy().ravel().tolist() for b in dup] == [[0, 1, 2], [0, 1, 2]]


def test_persistent_workers_are_reused_across_epochs():
    loader = DataLoader(PidDataset(8), batch_size=4, num_workers=2, persistent_workers=True)
    e1 = np.concatenate([b.numpy() for b in loader])
    e2 = np.concatenate([b.numpy() for b in loader])
    assert e1[:, 0].tolist() == e2[:, 0].tolist() == list(range(8))
    assert set(e1[:, 1].tolist()) == set(e2[:, 1].tolist())  # same worker pids
    it = iter(loader)
    next(it)          # abandon an epoch mid-way; the next epoch must not see its leftovers
    del it
    e3 = np.concatenate([b.numpy() for b in loader])
    assert e3[:, 0].tolist() == list(range(8))
    pool = loader._pool
    del loader
    assert all(not w.is_alive() for w in pool.workers)


GUIDE_SCRIPT = r'''
import numpy as np
import sampan as paddle
BATCH_SIZE, BATCH_NUM, IMAGE_SIZE, CLASS_NUM = 16, 4, 784, 10
class RandomDataset(paddle.io.Dataset):
    def __init__(self, num_samples):
        self.num_samples = num_samples
    def __getitem__(self, idx):
        image = np.random.random([IMAGE_SIZE]).astype('float32')
        label = np.random.randint(0, CLASS_NUM - 1, (1, )).astype('int64')
        return image, label
    def __len__(self):
        return self.num_samples
dataset = RandomDataset(BATCH_NUM * BATCH_SIZE)
loader = paddle.io.DataLoader(dataset, batch_size=BATCH_SIZE, shuffle=True, drop_last=True, num_workers=2)
n = 0
for epoch_id in range(4):
    for batch_id, (image, label) in enumerate(loader()):
        assert image.shape == [16, 784] and label.shape == [16, 1]
        n += 1
it = iter(loader)
next(it)  # leave an iterator with live workers behind: exit must not hang
print("batches", n)
'''


def test_guide_loader_script_exits_cleanly():
    r = subprocess.run([sys.executable, "-c", GUIDE_SCRIPT], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "batches 16" in r.stdout
