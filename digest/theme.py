"""Where the default theme lives: inside the installed package, else the checkout's templates/.

Kept apart from render.py so that finding the theme (for a build's fingerprint) does not import
Jinja and markdown-it.
"""

from __future__ import annotations

from pathlib import Path

import digest


def default_theme_dir() -> Path:
    """The default theme: inside the installed package, else the checkout's ``templates/``."""
    packaged = Path(digest.__file__).resolve().parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(digest.__file__).resolve().parent.parent / "templates"
