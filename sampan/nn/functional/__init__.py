"""``paddle.nn.functional``: thin functions that build Paddle's ops and attributes and call the one
dispatch point (``sampan.core.dispatch.run_op``), so they work eagerly and while building programs."""
from .activation import *  # noqa: F401,F403
from .common import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .input import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .norm import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from . import activation, common, conv, input, loss, norm, pooling  # noqa: F401

__all__ = (activation.__all__ + common.__all__ + conv.__all__ + input.__all__ + loss.__all__ + norm.__all__
           + pooling.__all__)
