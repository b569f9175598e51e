"""`python -m jobs [short] [long] [--burst]` starts a worker (same as `python -m jobs.worker`)."""

import sys

from jobs.worker import main

sys.exit(main())
