"""Moved to :mod:`tlcourse.assets.browser`; this old path works for one more release.

``python -m tlcourse.browser_assets`` still provisions Chromium, with a warning.
"""

import sys
import warnings

from .assets.browser import PROVISION_CMD, chromium_path, main, provision  # noqa: F401

warnings.warn("tlcourse.browser_assets moved to tlcourse.assets.browser; the old path goes in the "
              "next release", DeprecationWarning, stacklevel=2)

if __name__ == "__main__":
    sys.exit(main())
