"""Drives a running Jupyter server as a browser does: creates a session for a notebook over the
REST API, executes its first N code cells over the kernel's websocket channel, prints every
output as one JSON line per cell, and deletes the session (which shuts the kernel down).

    python scripts/lab-check.py http://127.0.0.1:PORT TOKEN notebook.ipynb N
"""
import asyncio
import json
import sys
import urllib.request
import uuid

from tornado.websocket import websocket_connect


def rest(base, token, method, path, body=None):
    req = urllib.request.Request(
        f"{base}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        text = r.read()
        return json.loads(text) if text else None


def message(session, code):
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "username": "lab-check",
            "session": session,
            "msg_type": "execute_request",
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": {"code": code, "silent": False, "store_history": True,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
        "channel": "shell",
        "buffers": [],
    }


async def run(base, token, path, n):
    nb = json.load(open(path))
    cells = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
             for c in nb["cells"] if c["cell_type"] == "code"][:n]
    session = rest(base, token, "POST", "/api/sessions",
                   {"path": path, "type": "notebook", "name": path, "kernel": {"name": "rust"}})
    kernel = session["kernel"]["id"]
    ws_url = base.replace("http", "ws", 1) + f"/api/kernels/{kernel}/channels?token={token}"
    ws = await websocket_connect(ws_url)
    try:
        for i, code in enumerate(cells):
            msg = message(session["id"], code)
            await ws.write_message(json.dumps(msg))
            outputs, status = [], None
            while status is None:
                raw = await asyncio.wait_for(ws.read_message(), timeout=1800)
                if raw is None:
                    raise SystemExit("the kernel's websocket closed")
                reply = json.loads(raw)
                if reply.get("parent_header", {}).get("msg_id") != msg["header"]["msg_id"]:
                    continue
                kind = reply["msg_type"]
                if kind in ("display_data", "execute_result"):
                    outputs.append({"type": kind, "data": reply["content"]["data"]})
                elif kind == "stream":
                    outputs.append({"type": "stream", "text": reply["content"]["text"]})
                elif kind == "error":
                    outputs.append({"type": "error", "ename": reply["content"]["ename"],
                                    "evalue": reply["content"]["evalue"]})
                elif kind == "execute_reply" and reply.get("channel") == "shell":
                    status = reply["content"]["status"]
            print(json.dumps({"cell": i, "status": status, "outputs": outputs}), flush=True)
            if status != "ok":
                break
    finally:
        ws.close()
        rest(base, token, "DELETE", f"/api/sessions/{session['id']}")


if __name__ == "__main__":
    base, token, path, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    asyncio.run(run(base.rstrip("/"), token, path, n))
