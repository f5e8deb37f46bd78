"""``paddle.io``: datasets, samplers and the DataLoader (data only; model files live in ``sampan.formats``)."""
from .dataset import (  # noqa: F401
    Dataset, IterableDataset, TensorDataset, ComposeDataset, ChainDataset, ConcatDataset, Subset, random_split,
)
from .sampler import (  # noqa: F401
    Sampler, SequenceSampler, RandomSampler, WeightedRandomSampler, SubsetRandomSampler, BatchSampler,
    DistributedBatchSampler,
)
from .collate import default_collate_fn, default_convert_fn  # noqa: F401
from .worker import WorkerInfo, get_worker_info  # noqa: F401
from .dataloader import DataLoader  # noqa: F401

__all__ = [
    "Dataset", "IterableDataset", "TensorDataset", "ComposeDataset", "ChainDataset", "ConcatDataset", "Subset",
    "random_split", "Sampler", "SequenceSampler", "RandomSampler", "WeightedRandomSampler", "SubsetRandomSampler",
    "BatchSampler", "DistributedBatchSampler", "default_collate_fn", "default_convert_fn", "WorkerInfo",
    "get_worker_info", "DataLoader",
]
