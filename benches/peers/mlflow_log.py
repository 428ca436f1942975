"""The MLflow Python client logging 10,000 metric points, for benches/mlflow_log.rs.

Usage: mlflow_log.py TRACKING_URI EXPERIMENT_ID POINTS REPEATS
Prints one JSON line per measurement: {"name": ..., "seconds": ..., "points": ...}.
Run with the MLflow venv's python (scripts/setup installs it).
"""
import json
import sys
import time

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric


def main():
    uri, exp, n, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    for rep in range(repeats):
        run = client.create_run(exp, run_name="py-log-batch")
        rid = run.info.run_id
        now = int(time.time() * 1000)
        metrics = [Metric("loss", float(i) * 0.5, now, i) for i in range(n)]
        t0 = time.perf_counter()
        client.log_batch(rid, metrics=metrics)  # the client chunks to 1000 per request
        dt = time.perf_counter() - t0
        got = len(client.get_metric_history(rid, "loss"))
        client.set_terminated(rid)
        print(json.dumps({"name": "python MlflowClient.log_batch", "seconds": dt, "points": got}), flush=True)

        if rep > 0:
            # One request per point or so: ~3.5 min per 10,000 points on 2 cores; measured once.
            continue
        run = client.create_run(exp, run_name="py-log-metric-async")
        rid = run.info.run_id
        t0 = time.perf_counter()
        with mlflow.start_run(run_id=rid):
            for i in range(n):
                mlflow.log_metric("loss", float(i) * 0.5, step=i, synchronous=False)
            mlflow.flush_async_logging()
        dt = time.perf_counter() - t0
        got = len(client.get_metric_history(rid, "loss"))
        print(json.dumps({"name": "python mlflow.log_metric(synchronous=False) x N + flush", "seconds": dt, "points": got}), flush=True)


if __name__ == "__main__":
    main()
