"""What every test folder shares: a quiet TensorFlow, the helpers beside this file, markers.

pytest imports this file before any test module, so TensorFlow's start-up logging is
turned down here once, instead of in a preamble at the top of each test file. The helper
modules beside it (``builders``, ``book_files``) are importable from every test folder.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "zoo: needs a trained model from the zoo (trained on first use, then cached)",
    )
