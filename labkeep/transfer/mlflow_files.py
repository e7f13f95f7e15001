"""Reader for an MLflow file store: the ``mlruns/`` folder (with its ``models/`` registry folder)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import yaml

from labkeep.transfer.base import Source
from labkeep.transfer.records import Problem, run_status

_NOT_EXPERIMENTS = {"models", ".trash"}


class CorruptItem(Exception):
    """An item of the folder that cannot be read (bad YAML, missing fields)."""


def _read_yaml(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except FileNotFoundError:
        raise CorruptItem(f"{path} is missing") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CorruptItem(f"{path} is not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise CorruptItem(f"{path} does not hold a mapping")
    return data


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def _key_files(folder: str) -> Iterator[tuple[str, str]]:
    """(key, path) for every file under ``folder``; keys with '/' are nested folders."""
    if not os.path.isdir(folder):
        return
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            yield os.path.relpath(path, folder).replace(os.sep, "/"), path


def _key_values(folder: str) -> dict[str, str]:
    return {key: _read_text(path) for key, path in _key_files(folder)}


def _int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def _path_from_uri(uri: str) -> str:
    if uri.startswith("file://"):
        return uri[len("file://") :]
    return uri


def is_file_store(path: str) -> bool:
    """True for a folder that looks like an MLflow file store."""
    if not os.path.isdir(path):
        return False
    for name in os.listdir(path):
        if name in _NOT_EXPERIMENTS:
            return True
        if os.path.isfile(os.path.join(path, name, "meta.yaml")):
            return True
    return False


class MlflowFileStoreSource(Source):
    """Everything under an ``mlruns/`` folder, read without MLflow."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(_path_from_uri(root))
        self.description = f"MLflow file store {self.root}"
        self._exp_dirs: dict[str, str] = {}

    # ------------------------------------------------------------ experiments
    def _experiment_dirs(self) -> list[str]:
        dirs = []
        for base in (self.root, os.path.join(self.root, ".trash")):
            if not os.path.isdir(base):
                continue
            for name in sorted(os.listdir(base)):
                path = os.path.join(base, name)
                if name in _NOT_EXPERIMENTS or name.startswith(".") or not os.path.isdir(path):
                    continue
                dirs.append(path)
        return dirs

    def experiments(self) -> list[dict[str, Any] | Problem]:
        out: list[dict[str, Any] | Problem] = []
        for path in self._experiment_dirs():
            try:
                meta = _read_yaml(os.path.join(path, "meta.yaml"))
                exp_id = str(meta["experiment_id"])
                self._exp_dirs[exp_id] = path
                out.append(
                    {
                        "experiment_id": exp_id,
                        "name": str(meta["name"]),
                        "artifact_location": meta.get("artifact_location") or "",
                        "lifecycle_stage": meta.get("lifecycle_stage") or "active",
                        "creation_time": _int(meta.get("creation_time")),
                        "last_update_time": _int(meta.get("last_update_time")),
                        "tags": _key_values(os.path.join(path, "tags")),
                    }
                )
            except (CorruptItem, KeyError, ValueError, OSError) as exc:
                out.append(Problem("experiment", os.path.basename(path), _reason(exc)))
        return out

    def _run_dirs(self, experiment_id: str) -> list[str]:
        base = self._exp_dirs[experiment_id]
        return [
            os.path.join(base, name)
            for name in sorted(os.listdir(base))
            if name not in ("tags", "datasets", "models", "traces")
            and os.path.isdir(os.path.join(base, name))
        ]

    def count_runs(self, experiment_id: str) -> int:
        return len(self._run_dirs(experiment_id))

    # ------------------------------------------------------------ runs
    def runs(self, experiment_id: str) -> Iterator[dict[str, Any] | Problem]:
        base = self._exp_dirs[experiment_id]
        datasets = self._datasets(base)
        for path in self._run_dirs(experiment_id):
            try:
                yield self._run(path, experiment_id, datasets)
            except (CorruptItem, KeyError, ValueError, OSError) as exc:
                yield Problem("run", os.path.basename(path), _reason(exc))

    def _datasets(self, exp_dir: str) -> dict[str, dict[str, Any]]:
        out = {}
        folder = os.path.join(exp_dir, "datasets")
        if os.path.isdir(folder):
            for ds_id in os.listdir(folder):
                try:
                    meta = _read_yaml(os.path.join(folder, ds_id, "meta.yaml"))
                except CorruptItem:
                    continue
                out[ds_id] = {
                    "name": meta.get("name"),
                    "digest": meta.get("digest"),
                    "source_type": meta.get("source_type"),
                    "source": meta.get("source"),
                    "schema": meta.get("schema"),
                    "profile": meta.get("profile"),
                }
        return out

    def _run(self, path: str, experiment_id: str, datasets: dict[str, dict]) -> dict[str, Any]:
        meta = _read_yaml(os.path.join(path, "meta.yaml"))
        run_id = str(meta.get("run_id") or meta.get("run_uuid") or "")
        if run_id != os.path.basename(path):
            raise CorruptItem(f"{path}/meta.yaml names run {run_id!r}, not the folder's name")
        tags = _key_values(os.path.join(path, "tags"))
        metrics: list[list[Any]] = []
        for key, mpath in _key_files(os.path.join(path, "metrics")):
            metrics += _metric_lines(mpath, key)
        inputs, model_inputs = [], []
        for meta_path in _child_metas(os.path.join(path, "inputs")):
            inp = _read_yaml(meta_path)
            if inp.get("source_type") == "DATASET" and inp.get("source_id") in datasets:
                inputs.append({"dataset": datasets[inp["source_id"]], "tags": dict(inp.get("tags") or {})})
            elif inp.get("source_type") in ("MODEL_INPUT", "LOGGED_MODEL") or str(
                inp.get("source_id", "")
            ).startswith("m-"):
                model_inputs.append(str(inp["source_id"]))
        outputs = []
        for meta_path in _child_metas(os.path.join(path, "outputs")):
            out = _read_yaml(meta_path)
            outputs.append({"model_id": str(out["destination_id"]), "step": int(out.get("step") or 0)})
        return {
            "run_id": run_id,
            "experiment_id": experiment_id,
            "name": meta.get("run_name") or tags.get("mlflow.runName") or "",
            "user_id": str(meta.get("user_id") or ""),
            "status": run_status(meta.get("status")),
            "start_time": _int(meta.get("start_time")),
            "end_time": _int(meta.get("end_time")),
            "deleted_time": _int(meta.get("deleted_time")),
            "artifact_uri": meta.get("artifact_uri") or "",
            "lifecycle_stage": meta.get("lifecycle_stage") or "active",
            "params": _key_values(os.path.join(path, "params")),
            "tags": tags,
            "metrics": metrics,
            "inputs": inputs,
            "outputs": outputs,
            "model_inputs": model_inputs,
        }

    # ------------------------------------------------------------ logged models
    def logged_models(self, experiment_id: str) -> Iterator[dict[str, Any] | Problem]:
        folder = os.path.join(self._exp_dirs[experiment_id], "models")
        if not os.path.isdir(folder):
            return
        for model_id in sorted(os.listdir(folder)):
            path = os.path.join(folder, model_id)
            try:
                meta = _read_yaml(os.path.join(path, "meta.yaml"))
                metrics: list[list[Any]] = []
                for key, mpath in _key_files(os.path.join(path, "metrics")):
                    metrics += _metric_lines(mpath, key, extra=True)
                yield {
                    "model_id": str(meta["model_id"]),
                    "experiment_id": experiment_id,
                    "name": meta.get("name") or "",
                    "artifact_location": meta.get("artifact_location") or "",
                    "creation_timestamp": _int(meta.get("creation_timestamp")),
                    "last_updated_timestamp": _int(meta.get("last_updated_timestamp")),
                    "status": int(meta.get("status") or 0),
                    "lifecycle_stage": meta.get("lifecycle_stage") or "active",
                    "model_type": meta.get("model_type"),
                    "source_run_id": meta.get("source_run_id"),
                    "status_message": meta.get("status_message"),
                    "params": _key_values(os.path.join(path, "params")),
                    "tags": _key_values(os.path.join(path, "tags")),
                    "metrics": metrics,
                }
            except (CorruptItem, KeyError, ValueError, OSError) as exc:
                yield Problem("logged_model", model_id, _reason(exc))

    def traces(self, experiment_id: str) -> Iterator[dict[str, Any] | Problem]:
        from labkeep.transfer.traces import file_store_traces

        return file_store_traces(self._exp_dirs[experiment_id], experiment_id)

    # ------------------------------------------------------------ registry
    def registered_models(self) -> Iterator[dict[str, Any] | Problem]:
        folder = os.path.join(self.root, "models")
        if not os.path.isdir(folder):
            return
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            try:
                meta = _read_yaml(os.path.join(path, "meta.yaml"))
                versions = []
                for child in sorted(os.listdir(path)):
                    if not child.startswith("version-"):
                        continue
                    vpath = os.path.join(path, child)
                    vm = _read_yaml(os.path.join(vpath, "meta.yaml"))
                    versions.append(
                        {
                            "version": int(vm["version"]),
                            "creation_time": _int(vm.get("creation_timestamp")),
                            "last_updated_time": _int(vm.get("last_updated_timestamp")),
                            "description": vm.get("description"),
                            "user_id": vm.get("user_id"),
                            "current_stage": vm.get("current_stage") or "None",
                            "source": vm.get("source") or "",
                            "storage_location": vm.get("storage_location"),
                            "run_id": vm.get("run_id") or None,
                            "run_link": vm.get("run_link"),
                            "model_id": vm.get("model_id"),
                            "status": vm.get("status") or "READY",
                            "status_message": vm.get("status_message"),
                            "tags": _key_values(os.path.join(vpath, "tags")),
                        }
                    )
                aliases = {k: int(v) for k, v in _key_values(os.path.join(path, "aliases")).items()}
                aliases.update({str(k): int(v) for k, v in (meta.get("aliases") or {}).items()})
                yield {
                    "name": str(meta.get("name") or name),
                    "creation_time": _int(meta.get("creation_timestamp")),
                    "last_updated_time": _int(meta.get("last_updated_timestamp")),
                    "description": meta.get("description"),
                    "tags": _key_values(os.path.join(path, "tags")),
                    "aliases": aliases,
                    "versions": sorted(versions, key=lambda v: v["version"]),
                }
            except (CorruptItem, KeyError, ValueError, OSError) as exc:
                yield Problem("registered_model", name, _reason(exc))


def _child_metas(folder: str) -> list[str]:
    if not os.path.isdir(folder):
        return []
    return [os.path.join(folder, n, "meta.yaml") for n in sorted(os.listdir(folder))]


def _metric_lines(path: str, key: str, extra: bool = False) -> list[list[Any]]:
    """Points of one metric file: ``timestamp value [step [run_id [dataset_name dataset_digest]]]``."""
    points = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) < 2:
                raise CorruptItem(f"{path} line {lineno} is not 'timestamp value step'")
            point: list[Any] = [
                key,
                float(fields[1]),
                int(fields[0]),
                int(fields[2]) if len(fields) > 2 else 0,
            ]
            if extra:
                point += [fields[3] if len(fields) > 3 else None]
                point += [fields[4] if len(fields) > 4 else None, fields[5] if len(fields) > 5 else None]
            points.append(point)
    return points


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"meta.yaml lacks the field {exc.args[0]!r}"
    return str(exc)
