#!/bin/sh
# Starts this policy pack the way the Python language host does (`python -u -m pulumi.policy <engine
# address> <pack dir>`, in the project's .venv); tests/policy uses it to check that the pack starts and
# announces its port. `pulumi preview --policy-pack policy` does not need it, with the official CLI or the
# one scripts/pulumi_toolchain.sh builds. It also works as a binary analyzer plugin for a CLI whose Python
# language host cannot run policy packs: pulumi preview --policy-pack policy/run_pack.sh
# The engine gives its address as the only argument.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/../.venv/bin/python" -u -m pulumi.policy "$1" "$here"
