"""Neural-network modules, one file per architecture (PyG SchNet style)."""
