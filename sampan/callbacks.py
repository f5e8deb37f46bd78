"""``paddle.callbacks``: the high-level API's callbacks (defined in ``sampan.hapi.callbacks``)."""
from .hapi.callbacks import (  # noqa: F401
    Callback, ProgBarLogger, ModelCheckpoint, EarlyStopping, LRScheduler, ReduceLROnPlateau, HistoryLogger,
    CSVLogger, JSONLLogger,
)

__all__ = ["Callback", "ProgBarLogger", "ModelCheckpoint", "EarlyStopping", "LRScheduler", "ReduceLROnPlateau",
           "HistoryLogger", "CSVLogger", "JSONLLogger"]
