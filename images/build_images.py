#!/usr/bin/env python3
"""Entry point: python3 images/build_images.py [--status | --json] [--rebuild] [IMAGE...] (--help says more)."""

import sys
from pathlib import Path

# Run as a script, sys.path has this file's folder, not the folder holding the `images` package.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from images.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
