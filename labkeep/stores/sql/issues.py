"""Issues: problems found in an experiment's traces (mlflow 3's issues API), on the SQL stores.

An issue has a name, description, status (``pending``, ``rejected``, ``resolved``), an optional
severity (``not_an_issue``, ``low``, ``medium``, ``high``), root causes, categories, the run that
found it and who created it. Rows keep the searchable fields as columns and the whole issue as JSON.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from labkeep.exceptions import InvalidParameterValue, ResourceDoesNotExist
from labkeep.search.paging import make_page_token, parse_page_token
from labkeep.stores.sql.db import Database
from labkeep.stores.sql.db import upsert_sql as _upsert
from labkeep.utils.clock import now_ms

STATUSES = ("pending", "rejected", "resolved")
SEVERITIES = ("not_an_issue", "low", "medium", "high")
_FILTER_RE = re.compile(r"^\s*(status|severity|name)\s*=\s*'([^']*)'\s*$", re.IGNORECASE)
MAX_RESULTS = 1000
_FIELDS = (
    "name",
    "description",
    "status",
    "severity",
    "root_causes",
    "categories",
    "source_run_id",
    "created_by",
)


def _check(field: str, value: Any) -> Any:
    if field == "status" and value not in STATUSES:
        raise InvalidParameterValue(f"Invalid issue status {value!r}; use one of {', '.join(STATUSES)}.")
    if field == "severity" and value is not None and value not in SEVERITIES:
        raise InvalidParameterValue(f"Invalid issue severity {value!r}; use one of {', '.join(SEVERITIES)}.")
    if field in ("root_causes", "categories"):
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise InvalidParameterValue(f"Issue field '{field}' must be a list of strings.")
    elif value is not None and not isinstance(value, str):
        raise InvalidParameterValue(f"Issue field '{field}' must be a string.")
    return value


def parse_issue_filter(filter_string: str | None) -> list[tuple[str, str]]:
    """``status = 'resolved' AND severity = 'high'`` -> [(field, value), …]."""
    if not filter_string or not filter_string.strip():
        return []
    out = []
    for part in re.split(r"\s+AND\s+", filter_string.strip(), flags=re.IGNORECASE):
        m = _FILTER_RE.match(part)
        if not m:
            raise InvalidParameterValue(
                f"Invalid issue filter {filter_string!r}: use status = '…', severity = '…' or name = '…',"
                " joined with AND."
            )
        out.append((m.group(1).lower(), m.group(2)))
    return out


class SqlIssueStore:
    """Create, read, update and search issues in the ``issues`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._sql_put = _upsert(
            db.dialect,
            "issues",
            ("issue_id",),
            ("experiment_id", "status", "created_timestamp", "last_updated_timestamp", "content"),
        )

    def _put(self, issue: dict[str, Any]) -> None:
        with self.db.write() as cur:
            cur.execute(
                self._sql_put,
                (
                    issue["issue_id"],
                    int(issue["experiment_id"]),
                    issue["status"],
                    issue["created_timestamp"],
                    issue["last_updated_timestamp"],
                    json.dumps(issue),
                ),
            )

    def create_issue(self, experiment_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        if not fields.get("name"):
            raise InvalidParameterValue("Missing value for required parameter 'name'.")
        with self.db.read() as cur:
            exists = (
                str(experiment_id).isdigit()
                and cur.execute(
                    "SELECT 1 FROM experiments WHERE experiment_id = ?", (int(experiment_id),)
                ).fetchone()
            )
        if not exists:
            raise ResourceDoesNotExist(f"No experiment with id={experiment_id}.")
        now = now_ms()
        issue: dict[str, Any] = {
            "issue_id": "iss-" + uuid.uuid4().hex,
            "experiment_id": str(experiment_id),
            "status": "pending",
            "description": "",
            "root_causes": [],
            "categories": [],
            "created_timestamp": now,
            "last_updated_timestamp": now,
        }
        for field in _FIELDS:
            if fields.get(field) is not None:
                issue[field] = _check(field, fields[field])
        self._put(issue)
        return issue

    def get_issue(self, issue_id: str) -> dict[str, Any]:
        with self.db.read() as cur:
            row = cur.execute("SELECT content FROM issues WHERE issue_id = ?", (issue_id,)).fetchone()
        if row is None:
            raise ResourceDoesNotExist(f"Issue with id={issue_id!r} not found.")
        issue: dict[str, Any] = json.loads(row[0])
        return issue

    def update_issue(self, issue_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        issue = self.get_issue(issue_id)
        for field in _FIELDS:
            if changes.get(field) is not None:
                issue[field] = _check(field, changes[field])
        issue["last_updated_timestamp"] = max(now_ms(), issue["created_timestamp"])
        self._put(issue)
        return issue

    def search_issues(
        self,
        experiment_id: str | None = None,
        filter_string: str | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Issues newest first; ``status`` filters in SQL, the other fields on the decoded rows."""
        if not 1 <= max_results <= MAX_RESULTS:
            raise InvalidParameterValue(
                f"max_results must be between 1 and {MAX_RESULTS}, got {max_results}."
            )
        clauses = parse_issue_filter(filter_string)
        offset = parse_page_token(page_token)
        where: list[str] = ["1 = 1"]
        args: list[Any] = []
        if experiment_id:
            if not str(experiment_id).isdigit():
                raise InvalidParameterValue(f"Invalid experiment_id {experiment_id!r}.")
            where.append("experiment_id = ?")
            args.append(int(experiment_id))
        for field, value in clauses:
            if field == "status":
                where.append("status = ?")
                args.append(value)
        with self.db.read() as cur:
            rows = cur.execute(
                f"SELECT content FROM issues WHERE {' AND '.join(where)}"
                " ORDER BY created_timestamp DESC, issue_id",
                tuple(args),
            ).fetchall()
        issues = [json.loads(r[0]) for r in rows]
        issues = [i for i in issues if all(i.get(f) == v for f, v in clauses if f != "status")]
        page = issues[offset : offset + max_results]
        token = make_page_token(offset + max_results) if offset + max_results < len(issues) else None
        return page, token
