"""The search language: filter and order_by strings, compiled to SQL or evaluated in memory.

``tokens`` -> ``parser`` (validated against ``grammars``) -> ``to_sql`` (query builders the SQL
stores call) or ``evaluate`` (in-memory). ``paging`` holds page tokens and max_results limits.
"""

from labkeep.search.paging import (
    make_logged_models_page_token,
    make_page_token,
    next_page_token,
    parse_logged_models_page_token,
    parse_page_token,
    validate_max_results,
)
from labkeep.search.parser import Clause, OrderKey, parse_filter, parse_logged_model_order_by, parse_order_by
from labkeep.search.to_sql import (
    build_experiments_query,
    build_logged_models_query,
    build_model_versions_query,
    build_registered_models_query,
    build_runs_query,
    build_runs_selection,
)

__all__ = [
    "Clause",
    "OrderKey",
    "build_experiments_query",
    "build_logged_models_query",
    "build_model_versions_query",
    "build_registered_models_query",
    "build_runs_query",
    "build_runs_selection",
    "make_logged_models_page_token",
    "make_page_token",
    "next_page_token",
    "parse_filter",
    "parse_logged_model_order_by",
    "parse_logged_models_page_token",
    "parse_order_by",
    "parse_page_token",
    "validate_max_results",
]
