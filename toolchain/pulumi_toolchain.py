#!/usr/bin/env python3
"""Entry point: python3 toolchain/pulumi_toolchain.py [--print-bin | --print-env | --status | --check-vendor]
(--help says more)."""

import sys
from pathlib import Path

# Run as a script, sys.path has this file's folder, not the folder holding the `toolchain` package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from toolchain.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
