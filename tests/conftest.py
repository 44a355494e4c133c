"""Put tests/ on the import path, so the rack tests share tests/rackkit.py."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
