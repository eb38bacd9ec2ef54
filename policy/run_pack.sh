#!/bin/sh
# Starts this policy pack the way the Python language host does (`python -u -m pulumi.policy <engine
# address> <pack dir>`, in the project's .venv); tests/policy uses it to check that the pack starts and
# announces its port. `pulumi preview --policy-pack policy` does not need it: the CLI starts the pack
# through the language host. The engine gives its address as the only argument.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/../.venv/bin/python" -u -m pulumi.policy "$1" "$here"
