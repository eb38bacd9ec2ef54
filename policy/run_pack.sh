#!/bin/sh
# Starts this policy pack as a binary analyzer plugin, for a Pulumi CLI whose Python language host
# cannot run Python plugins (RunPlugin), such as the one scripts/pulumi_toolchain.sh builds:
#   pulumi preview --policy-pack policy/run_pack.sh
# With the official CLI, pass the folder instead: pulumi preview --policy-pack policy
# The engine gives its address as the only argument; the pack runs in the project's .venv.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/../.venv/bin/python" -u -m pulumi.policy "$1" "$here"
