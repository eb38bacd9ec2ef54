"""The policy pack's folder on sys.path, as the Pulumi engine runs it (`import yellow_policies`)."""

import sys
from pathlib import Path

POLICY_DIR = Path(__file__).resolve().parents[2] / "policy"
if str(POLICY_DIR) not in sys.path:
    sys.path.insert(0, str(POLICY_DIR))
