"""Run Layer classes written for real Paddle, from their own source file, with sampan as ``paddle``.

The fixture generator (``tests/fixtures/paddle/make_fixtures.py``) defines its models for real Paddle
(the cross-check reader ``tests/crosscheck/paddle_reader.py`` imports them from it). Executing that very
source with ``paddle``/``nn`` bound to sampan tests "the same code runs unchanged under
``import sampan as paddle``" and keeps one copy of each model.
"""
import os

import sampan
import sampan.nn

TESTS = os.path.dirname(os.path.abspath(__file__))


def classes_from(relpath, start, end):
    """Names defined by the lines of ``relpath`` from the line starting ``start`` up to ``end``."""
    path = os.path.join(TESTS, relpath)
    with open(path, encoding="utf-8") as f:
        src = f.read()
    i, j = src.index(start), src.index(end)
    ns = {"paddle": sampan, "nn": sampan.nn, "__name__": "paddle_models"}
    exec(compile(src[i:j], path, "exec"), ns)   # noqa: S102 - our own test source
    return ns
