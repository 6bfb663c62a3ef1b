"""Model backends: one Protocol per role (`base`), one module per backend, and the spec `registry`.

Importing this package is cheap; heavy libraries load inside the backend constructors.
"""
