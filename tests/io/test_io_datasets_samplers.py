"""Datasets, samplers and collation of ``sampan.io`` (no worker processes here)."""
import numpy as np
import pytest

import sampan as paddle
from sampan.io import (
    BatchSampler, ChainDataset, ComposeDataset, DistributedBatchSampler, IterableDataset, RandomSampler,
    SequenceSampler, Subset, TensorDataset, default_collate_fn, random_split,
)


# ----------------------------------------------------------------------------- datasets
def test_tensor_dataset_slices_along_first_axis():
    x = np.arange(12, dtype="float32").reshape(6, 2)
    y = np.arange(6, dtype="int64")
    ds = TensorDataset([paddle.to_tensor(x), paddle.to_tensor(y)])
    assert len(ds) == 6
    a, b = ds[4]
    assert isinstance(a, paddle.Tensor) and a.shape == [2] and a.dtype == paddle.float32
    np.testing.assert_array_equal(a.numpy(), [8.0, 9.0])
    assert int(b) == 4


def test_tensor_dataset_rejects_unequal_lengths():
    with pytest.raises(ValueError, match=r"same first dimension.*\[3, 4\]"):
        TensorDataset([np.zeros([3, 1]), np.zeros([4, 1])])


def test_subset_and_random_split_partition_the_dataset():
    ds = TensorDataset([np.arange(10)])
    sub = Subset(ds, [9, 0, 5])
    assert len(sub) == 3 and [int(sub[i][0]) for i in range(3)] == [9, 0, 5]
    paddle.seed(3)
    a, b, c = random_split(ds, [5, 3, 2])
    got = sorted(a.indices + b.indices + c.indices)
    assert got == list(range(10)) and (len(a), len(b), len(c)) == (5, 3, 2)
    paddle.seed(3)
    a2, _, _ = random_split(ds, [5, 3, 2])
    assert a2.indices == a.indices
    f1, f2 = random_split(ds, [0.7, 0.3])
    assert (len(f1), len(f2)) == (7, 3)
    with pytest.raises(ValueError, match=r"sum of lengths \(9\).*\(10\)"):
        random_split(ds, [5, 4])


def test_compose_and_chain_datasets():
    a = TensorDataset([np.arange(3)])
    b = TensorDataset([np.arange(3) * 10, np.arange(3) * 100])
    assert [int(v) for v in ComposeDataset([a, b])[1]] == [1, 10, 100]
    with pytest.raises(ValueError, match="same length"):
        ComposeDataset([a, TensorDataset([np.arange(4)])])

    class Stream(IterableDataset):
        def __init__(self, lo, hi):
            self.lo, self.hi = lo, hi

        def __iter__(self):
            return iter(range(self.lo, self.hi))

    assert list(ChainDataset([Stream(0, 2), Stream(5, 7)])) == [0, 1, 5, 6]
    assert list(Stream(0, 2) + Stream(3, 4)) == [0, 1, 3]


def test_base_dataset_says_what_to_implement():
    with pytest.raises(NotImplementedError, match="__getitem__"):
        paddle.io.Dataset()[0]


# ----------------------------------------------------------------------------- samplers
def test_sequence_and_random_sampler():
    assert list(SequenceSampler(range(4))) == [0, 1, 2, 3]
    paddle.seed(11)
    p1 = list(RandomSampler(range(20)))
    paddle.seed(11)
    p2 = list(RandomSampler(range(20)))
    assert p1 == p2 and sorted(p1) == list(range(20)) and p1 != list(range(20))
    paddle.seed(12)
    assert list(RandomSampler(range(20))) != p1
    draws = list(RandomSampler(range(3), replacement=True, num_samples=50))
    assert len(draws) == 50 and set(draws) <= {0, 1, 2}
    assert list(RandomSampler(range(3), generator=iter([2, 2, 0]))) == [2, 2, 0]
    with pytest.raises(ValueError, match="replacement=True"):
        RandomSampler(range(3), num_samples=2)


def test_batch_sampler_batches_and_drop_last():
    assert list(BatchSampler(dataset=range(7), batch_size=3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(BatchSampler(dataset=range(7), batch_size=3)) == 3
    bs = BatchSampler(dataset=range(7), batch_size=3, drop_last=True)
    assert list(bs) == [[0, 1, 2], [3, 4, 5]] and len(bs) == 2
    bs = BatchSampler(sampler=SequenceSampler(range(4)), batch_size=2)
    assert list(bs) == [[0, 1], [2, 3]]
    with pytest.raises(ValueError, match="exactly one of dataset and sampler"):
        BatchSampler(batch_size=2)
    with pytest.raises(ValueError, match="batch_size must be a positive integer.*0"):
        BatchSampler(dataset=range(3), batch_size=0)


def test_distributed_batch_sampler_hand_computed_slices():
    # 10 samples, 2 ranks, batch 4: 5 per rank; the full round [0..7] is split 4 + 4, the tail [8, 9] 1 + 1.
    r0 = DistributedBatchSampler(range(10), batch_size=4, num_replicas=2, rank=0)
    r1 = DistributedBatchSampler(range(10), batch_size=4, num_replicas=2, rank=1)
    assert list(r0) == [[0, 1, 2, 3], [8]]
    assert list(r1) == [[4, 5, 6, 7], [9]]
    assert len(r0) == 2
    d = DistributedBatchSampler(range(10), batch_size=4, num_replicas=2, rank=1, drop_last=True)
    assert list(d) == [[4, 5, 6, 7]] and len(d) == 1
    # 10 samples, 3 ranks, batch 2: padded to 12 by repeating the head [0, 1].
    got = [list(DistributedBatchSampler(range(10), batch_size=2, num_replicas=3, rank=r)) for r in range(3)]
    assert got == [[[0, 1], [6, 7]], [[2, 3], [8, 9]], [[4, 5], [0, 1]]]


def test_distributed_batch_sampler_shuffle_is_shared_by_ranks_and_changes_per_epoch():
    samplers = [DistributedBatchSampler(range(23), batch_size=3, num_replicas=4, rank=r, shuffle=True)
                for r in range(4)]
    epoch0 = [sum(list(s), []) for s in samplers]
    flat = sorted(sum(epoch0, []))
    # 23 samples -> 6 per rank, 24 in all: every index once and the padding repeats one index
    assert len(flat) == 24 and sorted(set(flat)) == list(range(23))
    assert all(len(e) == 6 for e in epoch0)
    epoch1 = [sum(list(s), []) for s in samplers]
    assert epoch1 != epoch0
    for s in samplers:
        s.set_epoch(0)
    assert [sum(list(s), []) for s in samplers] == epoch0


def test_distributed_batch_sampler_rejects_bad_rank(monkeypatch):
    with pytest.raises(ValueError, match=r"rank must be in \[0, num_replicas=2\)"):
        DistributedBatchSampler(range(4), batch_size=1, num_replicas=2, rank=2)
    monkeypatch.setenv("PADDLE_TRAINERS_NUM", "2")
    monkeypatch.setenv("PADDLE_TRAINER_ID", "1")
    s = DistributedBatchSampler(range(4), batch_size=1)
    assert (s.nranks, s.local_rank) == (2, 1) and list(s) == [[1], [3]]


# ----------------------------------------------------------------------------- collation
def test_default_collate_fn_stacks_fields():
    samples = [(np.full([3], i, "float32"), np.array([i], "int64"), i, 0.5 * i, "s%d" % i) for i in range(4)]
    img, lab, n, f, s = default_collate_fn(samples)
    assert img.shape == (4, 3) and img.dtype == np.float32
    assert lab.shape == (4, 1) and lab.dtype == np.int64
    assert n.tolist() == [0, 1, 2, 3] and n.dtype == np.int64
    assert f.dtype == np.float64 and s == ["s0", "s1", "s2", "s3"]


def test_default_collate_fn_nested_dicts_lists_and_tensors():
    samples = [{"x": paddle.to_tensor(np.full([2], i, "float32")), "pair": [i, np.zeros([1, 2], "float32")]}
               for i in range(3)]
    out = default_collate_fn(samples)
    assert isinstance(out["x"], paddle.Tensor) and out["x"].shape == [3, 2]
    np.testing.assert_array_equal(out["x"].numpy()[:, 0], [0, 1, 2])
    assert out["pair"][0].tolist() == [0, 1, 2] and out["pair"][1].shape == (3, 1, 2)


def test_default_collate_fn_errors_name_the_problem():
    with pytest.raises(RuntimeError, match="different numbers of fields"):
        default_collate_fn([(1, 2), (1,)])
    with pytest.raises(ValueError, match=r"different shapes \[\(2,\), \(3,\)\]"):
        default_collate_fn([np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="type object"):
        default_collate_fn([object(), object()])
