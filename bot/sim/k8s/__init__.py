"""The Kubernetes API server stand-in: store, resources, watches, tables, over real HTTP."""
