"""``feed`` and ``fetch``: the I/O ops of inference programs (FORMATS.md section 2.4).

The Executor and the program runner treat them specially (values come from the feed dict and
go to the fetch list); the kernels here are identities so that a program holding them verifies.
"""
from __future__ import annotations

from .registry import op


@op("feed", "X", "Out", {"col": ("int", 0)})
def feed(ins, attrs):
    return {"Out": ins["X"]}


@op("fetch", "X", "Out", {"col": ("int", 0)})
def fetch(ins, attrs):
    return {"Out": ins["X"]}
