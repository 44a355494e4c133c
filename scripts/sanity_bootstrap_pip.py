"""Offline stand-in for the pip bootstrap script ansible-test downloads.

ansible-test fetches get-pip.py from its own file server to put pip into the
virtualenvs of the sanity tests; that server is not reachable from CI, while
PyPI is. Python's bundled ensurepip gives the same result: pip in the
virtualenv, then the pinned packages ansible-test asked for from PyPI.
"""

import subprocess
import sys

# get-pip.py options that plain `pip install` does not know.
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "-q",
                       *[a for a in sys.argv[1:] if a not in GET_PIP_ONLY]])
