"""Put the repository root on sys.path so `python benchmarks/<name>.py` finds `core`."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
