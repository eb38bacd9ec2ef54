"""Components of the DataSurface Yellow DAG-factory deployment.

Pure functions (settings, naming, rendering, SQL, manifest bodies) live beside the thin
ComponentResources that turn their results into Pulumi resources.
"""
