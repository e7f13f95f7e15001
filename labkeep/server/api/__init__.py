"""REST API handlers, grouped by resource; see routes.py for the table and common.py for the convention."""
