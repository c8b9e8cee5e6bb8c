"""Lock the process's memory (mlockall) so the real-time callback never waits for a page fault.

Needs a memlock limit large enough for the whole process (root, or `LimitMEMLOCK=infinity` /
`@audio - memlock unlimited`); without it the host still runs and says memory is not locked.
"""

from __future__ import annotations

import ctypes
import ctypes.util

MCL_CURRENT, MCL_FUTURE = 1, 2  # Linux values


def lock_memory() -> bool:
    """Lock current and future pages; False when the limit or the platform does not allow it."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        return libc.mlockall(MCL_CURRENT | MCL_FUTURE) == 0
    except (OSError, AttributeError):
        return False
