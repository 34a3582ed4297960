"""``python -m app``: start ColorMNet Studio."""

import sys

from app.main import main

sys.exit(main())
