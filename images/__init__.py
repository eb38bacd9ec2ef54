"""Container images made on this machine (no registry): OCI image layout archives that containerd imports."""
