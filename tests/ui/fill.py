"""Fills a labkeep store through the public API with data every UI page can show (used by conftest)."""

from __future__ import annotations

import json
import os
import struct
import sys
import zlib

HOSTILE = "<script>alert(1)</script>\"onerror=alert(2) x='"


def png_bytes(w: int = 8, h: int = 8) -> bytes:
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * w for _ in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def fill(uri: str, workdir: str) -> dict:
    import labkeep
    from labkeep import Client

    labkeep.set_tracking_uri(uri)
    client = Client(uri)
    out: dict = {}
    exp_id = labkeep.create_experiment("ui-demo")
    out["experiment_id"] = exp_id
    labkeep.set_experiment(experiment_id=exp_id)
    run_ids = []
    for i, (lr, opt) in enumerate([(0.1, "adam"), (0.01, "sgd"), (0.001, "adam"), (0.05, "sgd")]):
        with labkeep.start_run(run_name=f"trial-{i}") as run:
            labkeep.log_params({"lr": lr, "optimizer": opt, "layers": 2 + i})
            for step in range(50):
                labkeep.log_metrics(
                    {"loss": 1.0 / (1 + step * lr * 10) + i * 0.01, "acc": step / 50 * (1 - lr)}, step=step
                )
            labkeep.set_tag("team", "vision" if i % 2 else "nlp")
            run_ids.append(run.info.run_id)
    out["run_ids"] = run_ids
    # a parent with children
    with labkeep.start_run(run_name="sweep-parent") as parent:
        labkeep.log_metric("loss", 0.5)
        for j in range(2):
            with labkeep.start_run(run_name=f"child-{j}", nested=True):
                labkeep.log_metric("loss", 0.4 - j * 0.1)
    out["parent_id"] = parent.info.run_id
    # the artifact-rich, hostile-named run
    with labkeep.start_run(run_name="hostile " + HOSTILE) as run:
        labkeep.log_param("evil", HOSTILE)
        labkeep.set_tag("note", HOSTILE)
        labkeep.set_tag("mlflow.note.content", "Description " + HOSTILE)
        labkeep.log_metric("loss", 0.25)
        labkeep.log_text("line one\nerror: <b>bold</b> " + HOSTILE + "\n", "logs/train.log")
        labkeep.log_text("import os\n\ndef f(x):\n    return x + 1  # comment\n", "code/script.py")
        labkeep.log_dict({"a": 1, "b": [True, None], "evil": HOSTILE}, "config.json")
        labkeep.log_text("a: 1\nb: hello\n", "config.yaml")
        labkeep.log_text("named badly", "odd/<img src=x onerror=alert(3)>.txt")
        labkeep.log_text("x,y,label\n3,9,c\n1,1,a\n2,4,b\n", "data/points.csv")
        labkeep.log_text("x\ty\n5\t25\n4\t16\n", "data/points.tsv")
        labkeep.log_text(
            json.dumps({"columns": ["name", "score"], "data": [["zed", 1], ["amy", 3], ["bob", 2]]}),
            "table.json",
        )
        labkeep.log_text(
            "<h1>Report</h1><script>document.title='pwned'</script><p id='p'>hi</p>", "report.html"
        )
        labkeep.log_text(
            '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="alert(1)"><rect width="10" height="10" fill="blue"/></svg>',
            "pic.svg",
        )
        png = os.path.join(workdir, "img.png")
        with open(png, "wb") as f:
            f.write(png_bytes())
        labkeep.log_artifact(png, "images")
        model_dir = os.path.join(workdir, "model")
        os.makedirs(model_dir, exist_ok=True)
        with open(os.path.join(model_dir, "MLmodel"), "w") as f:
            f.write(
                "artifact_path: model\nflavors:\n  python_function:\n    loader_module: labkeep.pyfunc\n"
                "    python_version: 3.11.0\n  sklearn:\n    sklearn_version: 1.3.0\n"
                "saved_input_example_info:\n  artifact_path: input_example.json\n  type: dataframe\n"
                'signature:\n  inputs: \'[{"type": "double", "name": "x<script>"}, {"type": "long", "name": "y"}]\'\n'
                '  outputs: \'[{"type": "double"}]\'\n'
                f"run_id: {run.info.run_id}\n"
            )
        with open(os.path.join(model_dir, "input_example.json"), "w") as f:
            json.dump({"columns": ["x", "y"], "data": [[1.0, 2]]}, f)
        labkeep.log_artifacts(model_dir, "model")
    out["hostile_run_id"] = run.info.run_id
    # registry
    mv = client.create_registered_model("demo-model", description="A model " + HOSTILE)
    src = f"runs:/{run.info.run_id}/model"
    v1 = client.create_model_version("demo-model", src, run_id=run.info.run_id)
    client.create_model_version("demo-model", src, run_id=run.info.run_id)
    client.set_registered_model_alias("demo-model", "champion", v1.version)
    out["model"] = mv.name
    # a long history (downsampled on the server, min/max filled from the chart's buckets)
    from labkeep.entities import Metric

    with labkeep.start_run(run_name="long-history") as run:
        for i in range(0, 25000, 1000):
            batch = [
                Metric("loss", 100.0 if s == 12345 else 1.0 / (1 + s), 1_700_000_000_000 + s, s)
                for s in range(i, i + 1000)
            ]
            client.log_batch(run.info.run_id, metrics=batch)
    out["long_run_id"] = run.info.run_id
    labkeep.create_experiment("second-exp")
    out.update(_second_pass(client))
    return out


def _second_pass(client) -> dict:
    """Data for the UI's second pass (issue 18): a logged model, traces, a running run, a sweep."""
    import labkeep
    from labkeep.entities import Metric, Param
    from labkeep.pyfunc import PythonModel

    out: dict = {}

    class Echo(PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input

    exp_id = labkeep.create_experiment(
        "model-exp", tags={"mlflow.note.content": "Models of the **demo**", "team": "ml", "mlflow.domain": "x"}
    )
    out["model_exp_id"] = exp_id
    labkeep.set_experiment(experiment_id=exp_id)
    with labkeep.start_run(run_name="with-model") as run:
        labkeep.log_metric("score", 0.9)  # logged once: one step, although log_model links a copy
        info = labkeep.pyfunc.log_model(name="echo", python_model=Echo(), input_example={"x": [1.0, 2.0]})
    out["model_run_id"] = run.info.run_id
    out["logged_model_id"] = info.model_id
    labkeep.set_experiment(experiment_id=exp_id)

    @labkeep.trace
    def answer(q):
        return "42"

    @labkeep.trace(name="failing")
    def fail(q):
        raise ValueError("bad <b>input</b>\nsecond line")

    answer("why?")
    try:
        fail("x")
    except ValueError:
        pass
    traces_only = labkeep.create_experiment("traces-only")
    out["traces_exp_id"] = traces_only
    labkeep.set_experiment(experiment_id=traces_only)
    answer("only traces here")
    # a run left RUNNING (start_run without end), with a live metric
    running = client.create_run(exp_id, run_name="still-running")
    client.log_batch(running.info.run_id, metrics=[Metric("loss", 1.0 / (1 + s), 1_700_000_000_000 + s, s) for s in range(5)])
    out["running_run_id"] = running.info.run_id
    # a sweep: 120 runs, each logging its metric once (the usual hyper-parameter search)
    sweep = labkeep.create_experiment("sweep")
    out["sweep_exp_id"] = sweep
    ids = []
    for i in range(120):
        r = client.create_run(sweep, run_name=f"sweep-{i:03d}", tags={"opt": "adam" if i % 2 else "sgd"})
        lr = 10 ** (-1 - (i % 4))
        client.log_batch(
            r.info.run_id,
            metrics=[Metric("val_acc", 0.5 + (i % 10) / 25, 1_700_000_000_000, 0)],
            params=[Param("lr", str(lr)), Param("opt", "adam" if i % 2 else "sgd")],
        )
        client.set_terminated(r.info.run_id)
        ids.append(r.info.run_id)
    out["sweep_run_ids"] = ids
    return out


if __name__ == "__main__":
    print(json.dumps(fill(sys.argv[1], sys.argv[2])))
