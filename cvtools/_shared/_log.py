"""The library's logger: ``logging.getLogger("cvtools")`` with a NullHandler (the application decides)."""
from __future__ import annotations

import logging

logger = logging.getLogger("cvtools")
logger.addHandler(logging.NullHandler())
