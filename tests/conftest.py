import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
PADDLE_FIXTURES = os.path.join(FIXTURES, "paddle")


@pytest.fixture(autouse=True)
def _fresh_names():
    """Each test starts with a fresh unique-name table and dygraph mode."""
    from sampan.core import unique_name
    from sampan.core import dispatch
    with unique_name.guard():
        yield
    dispatch._global_static[0] = False
    dispatch._static_depth[0] = 0
