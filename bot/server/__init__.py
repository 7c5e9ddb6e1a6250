"""The HTTP side of `dynamote serve`: the WSGI app, its deadline, and readiness."""
