"""Run the zoo's tests installed or straight from the source tree (fastact's CI does the latter)."""

import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("fastact_zoo") is None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
