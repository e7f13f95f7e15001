"""``RestTraceStore``: the trace store over a labkeep (or MLflow 3) server's REST API.

Writing a trace mirrors the official client's artifact path: ``POST /api/3.0/mlflow/traces`` with
the info, then the spans as ``traces.json`` under the trace's artifact location (no protobuf
dependency). Reads use the v3 get/batchGet endpoints and fall back to that artifact.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from labkeep.genai.tracing.entities import ARTIFACT_LOCATION_TAG, Assessment, Trace, TraceInfo
from labkeep.stores.base import SEARCH_TRACES_DEFAULT_MAX_RESULTS, TraceStore
from labkeep.stores.rest.http import HostCreds, RestClient

T2 = "/api/2.0/mlflow"
T3 = "/api/3.0/mlflow"


class RestTraceStore(TraceStore):
    """The ``TraceStore`` contract over HTTP, for a tracking URI of ``http(s)://…``."""

    def __init__(self, host: HostCreds | str, client: Any = None) -> None:
        self.rest = RestClient(
            host if isinstance(host, HostCreds) else HostCreds.from_env(host), client=client
        )

    @property
    def tracking_uri(self) -> str:
        return self.rest.creds.host

    def close(self) -> None:
        self.rest.close()

    # ---- writes
    def start_trace(self, info: TraceInfo) -> TraceInfo:
        body = {"trace": {"trace_info": info.to_dict()}}
        resp = self.rest.call("POST", f"{T3}/traces", json_body=body)
        return TraceInfo.from_dict((resp.get("trace") or {}).get("trace_info") or info.to_dict())

    def log_trace(self, info: TraceInfo, spans: Sequence[dict[str, Any]] | None = None) -> TraceInfo:
        stored = self.start_trace(info)
        location = stored.tags.get(ARTIFACT_LOCATION_TAG)
        if spans and location:
            from labkeep.artifacts import get_artifact_repository

            data = json.dumps({"spans": list(spans)}, ensure_ascii=False).encode()
            get_artifact_repository(location, tracking_uri=self.tracking_uri).write_bytes(data, "traces.json")
        return stored

    def log_traces(self, items: Sequence[tuple[TraceInfo, Sequence[dict[str, Any]]]]) -> None:
        for info, spans in items:
            assessments, info.assessments = info.assessments, []
            self.log_trace(info, spans)
            for a in assessments:
                a.trace_id = info.trace_id
                self.create_assessment(a)

    def set_trace_tag(self, trace_id: str, key: str, value: Any) -> None:
        self.rest.call("PATCH", f"{T2}/traces/{trace_id}/tags", json_body={"key": key, "value": str(value)})

    def delete_trace_tag(self, trace_id: str, key: str) -> None:
        self.rest.call("DELETE", f"{T2}/traces/{trace_id}/tags", json_body={"key": key})

    def delete_traces(
        self,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        trace_ids: Sequence[str] | None = None,
    ) -> int:
        body: dict[str, Any] = {"experiment_id": str(experiment_id)}
        if max_timestamp_millis is not None:
            body["max_timestamp_millis"] = max_timestamp_millis
        if max_traces is not None:
            body["max_traces"] = max_traces
        if trace_ids is not None:
            body["request_ids"] = list(trace_ids)
        return int(
            self.rest.call("POST", f"{T2}/traces/delete-traces", json_body=body).get("traces_deleted", 0)
        )

    def create_assessment(self, assessment: Assessment) -> Assessment:
        resp = self.rest.call(
            "POST",
            f"{T3}/traces/{assessment.trace_id}/assessments",
            json_body={"assessment": assessment.to_dict()},
        )
        return Assessment.from_dict(resp["assessment"])

    def get_assessment(self, trace_id: str, assessment_id: str) -> Assessment:
        resp = self.rest.call("GET", f"{T3}/traces/{trace_id}/assessments/{assessment_id}")
        return Assessment.from_dict(resp["assessment"])

    def delete_assessment(self, trace_id: str, assessment_id: str) -> None:
        self.rest.call("DELETE", f"{T3}/traces/{trace_id}/assessments/{assessment_id}", json_body={})

    # ---- reads
    def get_trace_info(self, trace_id: str) -> TraceInfo:
        resp = self.rest.call("GET", f"{T3}/traces/{trace_id}", params={"trace_id": trace_id})
        return TraceInfo.from_dict(resp["trace"]["trace_info"])

    def _trace(self, d: dict[str, Any]) -> Trace:
        from labkeep.genai.tracing.otlp import span_from_otlp_json

        info = TraceInfo.from_dict(d.get("trace_info") or {})
        spans = [span_from_otlp_json(s) for s in d.get("spans") or []]
        if not spans and info.tags.get(ARTIFACT_LOCATION_TAG):
            spans = self._artifact_spans(info)
        return Trace(info, spans)

    def _artifact_spans(self, info: TraceInfo) -> list[dict[str, Any]]:
        from labkeep.artifacts import get_artifact_repository

        try:
            repo = get_artifact_repository(info.tags[ARTIFACT_LOCATION_TAG], tracking_uri=self.tracking_uri)
            return json.loads(repo.read_bytes("traces.json")).get("spans") or []
        except Exception:
            return []

    def get_trace(self, trace_id: str) -> Trace:
        resp = self.rest.call("GET", f"{T3}/traces/get", params={"trace_id": trace_id, "allow_partial": True})
        return self._trace(resp["trace"])

    def get_spans(self, trace_id: str) -> list[dict[str, Any]]:
        return self.get_trace(trace_id).spans

    def batch_get_traces(self, trace_ids: Sequence[str]) -> list[Trace]:
        out: list[Trace] = []
        ids = list(trace_ids)
        for i in range(0, len(ids), 100):
            resp = self.rest.call("GET", f"{T3}/traces/batchGet", params={"trace_ids": ids[i : i + 100]})
            out += [self._trace(t) for t in resp.get("traces") or []]
        return out

    def search_traces(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        max_results: int = SEARCH_TRACES_DEFAULT_MAX_RESULTS,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[TraceInfo], str | None]:
        body: dict[str, Any] = {
            "locations": [
                {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": str(e)}}
                for e in experiment_ids
            ],
            "max_results": max_results,
        }
        if filter_string:
            body["filter"] = filter_string
        if order_by:
            body["order_by"] = list(order_by)
        if page_token:
            body["page_token"] = page_token
        resp = self.rest.call("POST", f"{T3}/traces/search", json_body=body)
        return [TraceInfo.from_dict(t) for t in resp.get("traces") or []], resp.get("next_page_token") or None
