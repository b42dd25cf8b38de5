"""Whether this run is CI's: there a test never skips for something missing."""

from __future__ import annotations

import os

IN_CI = os.environ.get("CI", "").lower() == "true"
