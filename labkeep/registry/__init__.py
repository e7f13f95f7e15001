"""The model registry: the client mixin, the store contract, stages, sources, validation and URIs.

The SQL and REST backends live with the other stores (``labkeep/stores/sql/registry.py``,
``labkeep/stores/rest/registry.py``).
"""
