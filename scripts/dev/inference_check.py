#!/usr/bin/env python3
"""Checks a running Open Inference Protocol (KServe v2 REST) server, e.g. scripts/dev/inference.sh's, for
one image model with one FP32 input and one FP32 output of shape [1, 1, -1, -1] (seghub-unet's).

Usage: scripts/dev/inference_check.py URL MODEL [--size N] [--onnx FILE]
  URL     the base URL, e.g. http://127.0.0.1:8085
  MODEL   the model name, e.g. seghub-unet
  --size  H = W of the inputs sent (default 256; a multiple of 16)
  --onnx  also compare the server's output with this ONNX file run locally by onnxruntime
          (needs numpy and onnxruntime; everything else is the standard library)

Checks, printing one line per check: health live/ready; the model's metadata (name, versions "1",
platform, inputs/outputs with name, datatype and shape, dynamic dimensions -1), also under
/versions/1; model ready; inference with JSON tensors on /infer and on /versions/1/infer (output
shape [1, 1, N, N]); the binary tensor data extension (request header
Inference-Header-Content-Length, binary_data_size on the input, binary_data on the requested
output; the response's header, JSON part and raw little-endian FP32 bytes) in all four
combinations of JSON/binary input and output, plus binary_data_output on the request; that every
form gives the same numbers; a non-square input (H and W not swapped); and the errors: unknown
model and version (404), wrong input name, datatype or element count and a size the model cannot
take (400). Prints the time of one request at N, 512 and 1024 (binary). Exits 1 on any mismatch.
"""
import argparse
import json
import math
import struct
import sys
import time
import urllib.error
import urllib.request

FAILURES = []


def check(ok, what, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {what}{': ' + detail if detail and not ok else ''}", flush=True)
    if not ok:
        FAILURES.append(what)
    return ok


def request(method, url, body=None, headers=None):
    """(status, headers with lower-case names, body bytes); HTTP errors are answers too."""
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def get_json(url):
    status, _, body = request("GET", url)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


def pattern(h, w):
    """A deterministic test image in the model's normalised units: smooth blobs plus a ramp."""
    out = []
    for y in range(h):
        for x in range(w):
            v = 0.5 + 0.35 * math.sin(x / 7.0) * math.cos(y / 11.0) + 0.1 * (x + y) / (h + w)
            out.append((v - 0.5) / 0.25)
    return out


def pack(values):
    return struct.pack(f"<{len(values)}f", *values)


def unpack(raw):
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def infer(url, values, shape, binary_in, binary_out, output, request_level=False):
    """One inference; returns (status, response JSON, output values or None, headers)."""
    inp = {"name": INPUT, "shape": shape, "datatype": "FP32"}
    head = {"inputs": [inp]}
    if binary_out is not None:
        head["outputs"] = [{"name": output, "parameters": {"binary_data": binary_out}}]
    if request_level:
        head["parameters"] = {"binary_data_output": True}
    if binary_in:
        raw = pack(values)
        inp["parameters"] = {"binary_data_size": len(raw)}
        js = json.dumps(head).encode()
        body = js + raw
        headers = {"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": str(len(js))}
    else:
        inp["data"] = values
        body = json.dumps(head).encode()
        headers = {"Content-Type": "application/json"}
    status, rh, rb = request("POST", url, body, headers)
    if status != 200:
        return status, rb[:300].decode(errors="replace"), None, rh
    if "inference-header-content-length" in rh:
        n = int(rh["inference-header-content-length"])
        res, raw = json.loads(rb[:n]), rb[n:]
    else:
        res, raw = json.loads(rb), b""
    values_out, offset = None, 0
    for o in res.get("outputs", []):
        size = ((o.get("parameters") or {}).get("binary_data_size"))
        if size is not None:
            chunk = raw[offset:offset + size]
            offset += size
            if o["name"] == output:
                values_out = unpack(chunk) if len(chunk) == size else None
        elif o["name"] == output:
            values_out = o.get("data")
    if offset != len(raw):
        values_out = None  # trailing or missing bytes
    return status, res, values_out, rh


def main():
    global INPUT
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url")
    ap.add_argument("model")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--onnx")
    args = ap.parse_args()
    base = args.url.rstrip("/")
    m = f"{base}/v2/models/{args.model}"
    n = args.size

    # health
    status, body = get_json(f"{base}/v2/health/live")
    check(status == 200 and body and body.get("live") is True, "GET /v2/health/live -> 200 {live: true}", f"{status} {body}")
    status, body = get_json(f"{base}/v2/health/ready")
    check(status == 200 and body and body.get("ready") is True, "GET /v2/health/ready -> 200 {ready: true}", f"{status} {body}")

    # metadata
    status, meta = get_json(m)
    ok = check(status == 200 and isinstance(meta, dict), f"GET /v2/models/{args.model} -> 200", f"{status} {meta}")
    if not ok:
        sys.exit(1)
    check(meta.get("name") == args.model, "metadata name", str(meta.get("name")))
    check(isinstance(meta.get("versions"), list) and "1" in meta["versions"], "metadata versions contains \"1\"",
          str(meta.get("versions")))
    check(isinstance(meta.get("platform"), str) and meta["platform"] != "", "metadata platform", str(meta.get("platform")))
    for kind in ("inputs", "outputs"):
        tensors = meta.get(kind) or []
        check(len(tensors) == 1 and all(set(t) >= {"name", "datatype", "shape"} for t in tensors),
              f"metadata {kind}: one tensor with name, datatype, shape", str(tensors))
    tin, tout = (meta.get("inputs") or [{}])[0], (meta.get("outputs") or [{}])[0]
    INPUT, OUTPUT = tin.get("name"), tout.get("name")
    check(tin.get("datatype") == "FP32" and tin.get("shape") == [1, 1, -1, -1],
          f"input {INPUT}: FP32 [1, 1, -1, -1]", str(tin))
    check(tout.get("datatype") == "FP32" and tout.get("shape") == [1, 1, -1, -1],
          f"output {OUTPUT}: FP32 [1, 1, -1, -1]", str(tout))
    status, meta1 = get_json(f"{m}/versions/1")
    check(status == 200 and meta1 == meta, f"GET /v2/models/{args.model}/versions/1 -> the same metadata", f"{status} {meta1}")
    for path in ("/ready", "/versions/1/ready"):
        status, body = get_json(m + path)
        check(status == 200 and body and body.get("ready") is True, f"GET /v2/models/{args.model}{path} -> 200 ready",
              f"{status} {body}")

    # inference: JSON, binary, mixed
    shape = [1, 1, n, n]
    values = pattern(n, n)
    results = {}
    cases = [("JSON in, JSON out, /infer", "/infer", False, None, False),
             ("JSON in, JSON out, /versions/1/infer", "/versions/1/infer", False, None, False),
             ("binary in, binary out (binary_data: true)", "/infer", True, True, False),
             ("binary in, binary out, /versions/1/infer", "/versions/1/infer", True, True, False),
             ("binary in, JSON out (binary_data: false)", "/infer", True, False, False),
             ("JSON in, binary out", "/infer", False, True, False),
             ("binary in, binary out (binary_data_output on the request)", "/infer", True, None, True)]
    for label, path, bin_in, bin_out, req_level in cases:
        t = time.perf_counter()
        status, res, out, rh = infer(m + path, values, shape, bin_in, bin_out, OUTPUT, req_level)
        ms = 1000 * (time.perf_counter() - t)
        if not check(status == 200, f"POST {path} {label} -> 200", f"{status} {res}"):
            continue
        o = next((o for o in res.get("outputs", []) if o.get("name") == OUTPUT), {})
        binary_expected = bool(bin_out) or (req_level and bin_out is None)
        check(o.get("shape") == shape and o.get("datatype") == "FP32", f"  {OUTPUT} is FP32 {shape}", str(o)[:200])
        check(res.get("model_name") == args.model and str(res.get("model_version")) == "1",
              "  model_name and model_version \"1\" in the response", f"{res.get('model_name')} {res.get('model_version')}")
        if binary_expected:
            size = (o.get("parameters") or {}).get("binary_data_size")
            check("inference-header-content-length" in rh and size == 4 * n * n and "data" not in o,
                  f"  Inference-Header-Content-Length header, binary_data_size {4 * n * n}, raw bytes follow",
                  f"header {rh.get('inference-header-content-length')} size {size}")
        else:
            check("inference-header-content-length" not in rh and isinstance(o.get("data"), list),
                  "  plain JSON response with data", str(list(rh))[:200])
        ok = out is not None and len(out) == n * n and all(math.isfinite(v) for v in out)
        check(ok, f"  {n * n} finite values", f"{None if out is None else len(out)}")
        if ok:
            results[label] = out
        print(f"     {ms:.0f} ms", flush=True)
    if results:
        first = next(iter(results.values()))
        check(all(r == first for r in results.values()), "every form gives the same values (bit for bit)")
        print(f"     logits range {min(first):.3f} .. {max(first):.3f}")

    # non-square: H and W must not be swapped
    h, w = 64, 96
    status, res, out, _ = infer(m + "/infer", pattern(h, w), [1, 1, h, w], True, True, OUTPUT)
    o = next((o for o in (res.get("outputs", []) if isinstance(res, dict) else []) if o.get("name") == OUTPUT), {})
    check(status == 200 and o.get("shape") == [1, 1, h, w] and out is not None and len(out) == h * w,
          f"non-square input [1, 1, {h}, {w}] -> output [1, 1, {h}, {w}]", f"{status} {o or res}")

    if args.onnx:
        try:
            import numpy as np
            import onnxruntime as ort
        except ImportError as e:
            sys.exit(f"--onnx needs numpy and onnxruntime ({e}): run this with the venv's python, "
                     "~/.cache/seghub/venv/bin/python")
        sess = ort.InferenceSession(args.onnx, providers=["CPUExecutionProvider"])
        x = np.asarray(values, np.float32).reshape(shape)
        local = sess.run(None, {INPUT: x})[0].ravel()
        if results:
            diff = float(np.abs(local - np.asarray(first, np.float32)).max())
            check(diff < 1e-4, f"the server's output matches {args.onnx} run locally (max |diff| {diff:.1e})")

    # errors
    status, _, _ = request("GET", f"{base}/v2/models/no-such-model")
    check(status == 404, "GET unknown model -> 404", str(status))
    status, _, _ = request("GET", f"{m}/versions/2")
    check(status == 404, "GET /versions/2 -> 404", str(status))
    status, _, _ = request("POST", f"{m}/versions/2/infer", b"{}", {"Content-Type": "application/json"})
    check(status == 404, "POST /versions/2/infer -> 404", str(status))
    status, _, _ = request("POST", f"{base}/v2/models/no-such-model/infer",
                           json.dumps({"inputs": [{"name": INPUT, "shape": [1, 1, 16, 16], "datatype": "FP32",
                                                   "data": [0.0] * 256}]}).encode(), {"Content-Type": "application/json"})
    check(status == 404, "POST unknown model infer -> 404", str(status))
    bad = [("wrong input name", {"name": "nope", "shape": [1, 1, 16, 16], "datatype": "FP32", "data": [0.0] * 256}),
           ("wrong datatype", {"name": INPUT, "shape": [1, 1, 16, 16], "datatype": "INT32", "data": [0] * 256}),
           ("element count does not match the shape", {"name": INPUT, "shape": [1, 1, 16, 16], "datatype": "FP32",
                                                        "data": [0.0] * 10}),
           ("wrong rank", {"name": INPUT, "shape": [16, 16], "datatype": "FP32", "data": [0.0] * 256}),
           ("size the model cannot take (20 x 20)", {"name": INPUT, "shape": [1, 1, 20, 20], "datatype": "FP32",
                                                     "data": [0.0] * 400})]
    for label, tensor in bad:
        status, _, body = request("POST", f"{m}/infer", json.dumps({"inputs": [tensor]}).encode(),
                                  {"Content-Type": "application/json"})
        check(status == 400, f"POST infer, {label} -> 400", f"{status} {body[:200]!r}")
    status, _, body = request("POST", f"{m}/infer", json.dumps({"inputs": [{"name": INPUT, "shape": shape, "datatype": "FP32",
                                                                            "data": values}],
                                                                "outputs": [{"name": "nope"}]}).encode(),
                              {"Content-Type": "application/json"})
    check(status == 400, "POST infer, unknown requested output -> 400", f"{status} {body[:200]!r}")
    js = json.dumps({"inputs": [{"name": INPUT, "shape": [1, 1, 16, 16], "datatype": "FP32",
                                 "parameters": {"binary_data_size": 1024}}]}).encode()
    status, _, body = request("POST", f"{m}/infer", js + b"\0" * 100,
                              {"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": str(len(js))})
    check(status == 400, "POST infer, binary body shorter than binary_data_size -> 400", f"{status} {body[:200]!r}")

    # timing (binary in and out)
    for size in sorted({n, 512, 1024}):
        vals = [0.0] * (size * size)
        t = time.perf_counter()
        status, _, out, _ = infer(m + "/infer", vals, [1, 1, size, size], True, True, OUTPUT)
        ms = 1000 * (time.perf_counter() - t)
        check(status == 200 and out is not None and len(out) == size * size, f"binary inference at {size} x {size}: {ms:.0f} ms")

    print(f"\n{len(FAILURES)} failed" if FAILURES else "\nevery check passed")
    sys.exit(1 if FAILURES else 0)


INPUT = "input"

if __name__ == "__main__":
    main()
