"""The DataSurface Yellow policy pack: `pulumi preview --policy-pack policy` runs it, every policy mandatory.

The engine runs this file with this folder on sys.path; the project's packages come from its editable
install in ../.venv (scripts/lib.sh, ensure_project_installed).
"""

from pulumi_policy import EnforcementLevel, PolicyPack
from yellow_policies import POLICIES

PolicyPack(name="datasurface-yellow", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
