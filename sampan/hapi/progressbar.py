"""A compact progress bar in Paddle's format: ``step 3/10 [=========>....] - loss: 0.5123 - 12ms/step``.

``verbose=1`` redraws one line in place (when the stream is a terminal; otherwise it prints a line
only when the run completes); ``verbose=2`` prints one line per ``update`` call; ``verbose=0`` prints
nothing. No background threads (tqdm starts a monitor thread, which makes forking DataLoader workers
unsafe).
"""
from __future__ import annotations

import numbers
import sys
import time

import numpy as np

__all__ = ["ProgressBar"]


def format_value(v):
    """One logged value: lists show their first element (Paddle logs losses as ``[loss]``)."""
    if isinstance(v, (list, tuple)):
        if len(v) == 1:
            v = v[0]
        else:
            return "[" + ", ".join(format_value(x) for x in v) + "]"
    if isinstance(v, np.ndarray) and v.size == 1:
        v = v.reshape(()).item()
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        v = float(v)
        return f"{v:.4f}" if abs(v) > 1e-3 or v == 0 else f"{v:.4e}"
    return str(v)


def format_time_per_step(seconds):
    if seconds >= 1:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


class ProgressBar:
    """Progress of one loop over ``num`` steps (``num=None`` when the length is unknown).

    Example:
        >>> import io
        >>> from sampan.hapi.progressbar import ProgressBar
        >>> out = io.StringIO()
        >>> bar = ProgressBar(num=2, verbose=2, file=out)
        >>> bar.update(2, [("loss", [0.25])])
        >>> out.getvalue().split(" - ")[:2]
        ['step 2/2', 'loss: 0.2500']
    """

    def __init__(self, num=None, width=30, verbose=1, start=True, file=None, name="step"):
        self._num, self._width, self._verbose = num, width, verbose
        self._file = file if file is not None else sys.stdout
        self.name = name
        self._last_len = 0
        isatty = getattr(self._file, "isatty", None)
        self._dynamic = bool(isatty and isatty())
        self._start = time.perf_counter() if start else None

    def start(self):
        self._start = time.perf_counter()

    def _bar(self, current):
        if not self._num:
            return ""
        frac = min(1.0, current / self._num)
        done = int(self._width * frac)
        arrow = ">" if done < self._width else ""
        return "[" + "=" * done + arrow + "." * (self._width - done - len(arrow)) + "]"

    def line(self, current, values=None):
        """The text of the bar at step ``current`` (1-based) with ``values`` [(name, value)]."""
        now = time.perf_counter()
        if self._start is None:
            self._start = now
        total = f"/{self._num}" if self._num else ""
        parts = [f"{self.name} {current}{total}"]
        bar = self._bar(current) if self._verbose == 1 else ""
        head = parts[0] + (" " + bar if bar else "")
        items = [head] + [f"{k}: {format_value(v)}" for k, v in (values or [])]
        if current > 0:
            items.append(format_time_per_step((now - self._start) / current))
        return " - ".join(items)

    def update(self, current, values=None):
        if self._verbose == 0:
            return
        text = self.line(current, values)
        finished = self._num is not None and current >= self._num
        if self._verbose == 1:
            if self._dynamic:
                pad = max(0, self._last_len - len(text))
                self._file.write("\r" + text + " " * pad + ("\n" if finished else ""))
                self._last_len = len(text)
            elif finished:
                self._file.write(text + "\n")
        else:
            self._file.write(text + "\n")
        self._file.flush()
