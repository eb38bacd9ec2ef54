"""Builds the Pulumi toolchain and the local control plane's binaries from source (README.md here)."""
