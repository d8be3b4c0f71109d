import os
import sys
from pathlib import Path

# xlwings' JSON-backed Book (the add-in tests) needs this key; free for tests.
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
sys.path.insert(0, str(Path(__file__).parent))
