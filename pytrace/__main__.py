"""python -m pytrace."""

from __future__ import annotations

import sys

from pytrace.cli import main

sys.exit(main())
