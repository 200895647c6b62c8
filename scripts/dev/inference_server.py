#!/usr/bin/env python3
"""SegHub's reference Open Inference Protocol (KServe v2 REST) server: every *.onnx in a folder is a model.

Usage: inference_server.py --models_dir DIR [--host 127.0.0.1] [--http_port PORT] [--intra_op_threads N]
Normally started by scripts/dev/inference.sh (which installs kserve and onnxruntime into the venv).

Each ONNX file becomes one `kserve.Model` named after the file's stem (models/seghub-unet.onnx is model
`seghub-unet`), version "1", platform "onnxruntime_onnx", run by onnxruntime on the CPU
(CPUExecutionProvider, N intra-op threads, default 2 or SEG_INFERENCE_THREADS) in a worker thread, so
health checks answer while a request computes. KServe's own ModelServer (PyPI `kserve`, 0.21) serves:

  GET  /v2/health/live, /v2/health/ready, /v2, /v2/models
  GET  /v2/models/NAME[/versions/1]                model metadata (dynamic dimensions are -1)
  GET  /v2/models/NAME[/versions/1]/ready
  POST /v2/models/NAME[/versions/1]/infer          JSON tensors, and the binary tensor data extension:
       request header Inference-Header-Content-Length + "parameters": {"binary_data_size": N} on
       inputs; "parameters": {"binary_data": true} on requested outputs (or "binary_data_output": true
       on the request) -> response header Inference-Header-Content-Length, then the raw
       little-endian bytes after the JSON. kserve implements the extension itself.

What this module adds to kserve 0.21, whose REST server
  - answers 501 "Model versioning not supported yet" to every /versions/V path: a small ASGI
    middleware serves /versions/V as the unversioned path when V is the model's version, and 404
    for any other version;
  - reports no versions and an empty platform in the metadata, and answers 500 to a malformed binary
    request (e.g. fewer bytes than binary_data_size): a DataPlane subclass fills the metadata in and
    makes those 400;
  - turns each binary input into a Python list of numbers before the model sees it (60 % of the
    server's time for a 256x256 float input): binary inputs are decoded here, kept as their bytes;
  - sends binary responses without a Content-Type: the middleware adds application/octet-stream;
  - binds 0.0.0.0 and starts a gRPC server too: the REST server is started alone, on --host
    (loopback by default), without gRPC.
Requests are checked against the ONNX signature (input names, datatypes, ranks and fixed
dimensions, requested output names): a mismatch is 400 with a message, never a 500.
"""
import argparse
import asyncio
import importlib.metadata
import os
import pathlib
import re
import sys
import uuid
from urllib.parse import quote

import onnxruntime as ort
import orjson
from kserve import InferInput, InferOutput, InferRequest, InferResponse, Model, ModelServer
from kserve.errors import InvalidInput
from kserve.model_server import FASTAPI_APP_IMPORT_STRING
from kserve.model_server import app as kserve_app
from kserve.model_server import parser as kserve_parser
from kserve.constants.constants import INFERENCE_CONTENT_LENGTH_HEADER
from kserve.protocol.dataplane import DataPlane
from kserve.protocol.infer_type import RequestedOutput
from kserve.protocol.rest.server import RESTServer

VERSION = "1"
PLATFORM = "onnxruntime_onnx"

# ONNX element types (onnxruntime's type strings) and their v2 datatypes.
DATATYPES = {
    "tensor(float)": "FP32", "tensor(float16)": "FP16", "tensor(double)": "FP64",
    "tensor(int8)": "INT8", "tensor(int16)": "INT16", "tensor(int32)": "INT32", "tensor(int64)": "INT64",
    "tensor(uint8)": "UINT8", "tensor(uint16)": "UINT16", "tensor(uint32)": "UINT32", "tensor(uint64)": "UINT64",
    "tensor(bool)": "BOOL", "tensor(string)": "BYTES",
}


def tensor_signature(arg):
    """(name, v2 datatype, shape with -1 for every dynamic dimension) of an onnxruntime NodeArg."""
    datatype = DATATYPES.get(arg.type)
    if datatype is None:
        raise ValueError(f"tensor {arg.name}: ONNX type {arg.type} has no v2 datatype")
    shape = [d if isinstance(d, int) and d >= 0 else -1 for d in arg.shape]
    return arg.name, datatype, shape


class OnnxModel(Model):
    """One ONNX file, run by onnxruntime on the CPU."""

    def __init__(self, path: pathlib.Path, threads: int):
        super().__init__(path.stem)
        self.path = path
        self.threads = threads
        self.version = VERSION
        self.platform = PLATFORM
        self.session = None
        self.inputs = []
        self.outputs = []

    def load(self) -> bool:
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self.inputs = [tensor_signature(a) for a in self.session.get_inputs()]
        self.outputs = [tensor_signature(a) for a in self.session.get_outputs()]
        self.ready = True
        return self.ready

    def get_input_types(self):
        return [{"name": n, "datatype": t, "shape": s} for n, t, s in self.inputs]

    def get_output_types(self):
        return [{"name": n, "datatype": t, "shape": s} for n, t, s in self.outputs]

    def _feeds(self, request: InferRequest):
        """The input arrays by name, checked against the model's signature."""
        given = {i.name: i for i in request.inputs}
        expected = {n for n, _, _ in self.inputs}
        unknown = sorted(set(given) - expected)
        if unknown:
            raise InvalidInput(f"model {self.name} has no input named {', '.join(unknown)} "
                               f"(inputs: {', '.join(sorted(expected))})")
        feeds = {}
        for name, datatype, shape in self.inputs:
            tensor = given.get(name)
            if tensor is None:
                raise InvalidInput(f"input {name} is missing")
            if tensor.datatype != datatype:
                raise InvalidInput(f"input {name}: datatype {tensor.datatype}, expected {datatype}")
            declared = list(tensor.shape)
            if len(declared) != len(shape) or any(s != -1 and s != d for s, d in zip(shape, declared)):
                raise InvalidInput(f"input {name}: shape {declared} does not fit {shape} (-1: any)")
            try:
                array = tensor.as_numpy()
            except ValueError as e:  # element count or byte size does not match the shape
                raise InvalidInput(f"input {name}: data does not match shape {declared}: {e}")
            if array.dtype.byteorder == ">":  # frombuffer of raw bytes: v2 binary data is little-endian
                array = array.astype(array.dtype.newbyteorder("<"))
            feeds[name] = array
        return feeds

    async def predict(self, payload: InferRequest, headers=None, response_headers=None) -> InferResponse:
        if not isinstance(payload, InferRequest):
            raise InvalidInput("this server speaks the v2 protocol only (/v2/models/NAME/infer)")
        feeds = self._feeds(payload)
        known = {n: t for n, t, _ in self.outputs}
        requested = payload.request_outputs or []
        for r in requested:
            if r.name not in known:
                raise InvalidInput(f"model {self.name} has no output named {r.name} (outputs: {', '.join(known)})")
        loop = asyncio.get_running_loop()
        try:
            arrays = await loop.run_in_executor(None, self.session.run, None, feeds)
        except Exception as e:  # onnxruntime's own shape checks, e.g. H or W not a multiple of 16
            raise InvalidInput(f"model {self.name} cannot run this input: {e}")
        outputs = [InferOutput(name=n, shape=list(a.shape), datatype=known[n], data=a)
                   for (n, _, _), a in zip(self.outputs, arrays)]
        return InferResponse(response_id=payload.id or str(uuid.uuid4()), model_name=self.name,
                             model_version=self.version, infer_outputs=outputs,
                             use_binary_outputs=payload.use_binary_outputs, requested_outputs=requested or None)


def decode_binary_request(body: bytes, json_length: int, model_name: str) -> InferRequest:
    """InferRequest.from_bytes without its copy: kserve 0.21 turns each binary input into a Python list
    of numbers (set_data_from_numpy(binary_data=False)), which took 60 % of the server's time per
    256x256 float input; here a binary input keeps its bytes, which as_numpy() views with frombuffer."""
    try:
        header = orjson.loads(body[:json_length])
    except orjson.JSONDecodeError as e:
        raise InvalidInput(f"Unrecognized request format: {e}")
    start = json_length
    inputs = []
    for spec in header["inputs"]:
        parameters = spec.get("parameters") or {}
        tensor = InferInput(name=spec["name"], shape=spec["shape"], datatype=spec["datatype"], parameters=parameters)
        if spec.get("data") is not None:
            tensor.data = spec["data"]
        elif parameters.get("binary_data_size") is not None:
            size = int(parameters["binary_data_size"])
            raw = body[start:start + size]
            if size < 0 or len(raw) != size:
                raise InvalidInput(f"input {tensor.name}: binary_data_size is {size} but {len(raw)} bytes follow")
            tensor._raw_data = raw
            start += size
        else:
            raise InvalidInput(f"input {tensor.name} has neither data nor binary_data_size")
        inputs.append(tensor)
    outputs = [RequestedOutput(name=o["name"], parameters=o.get("parameters")) for o in header.get("outputs") or []]
    return InferRequest(model_name=model_name, infer_inputs=inputs, request_id=header.get("id"),
                        parameters=header.get("parameters"), request_outputs=outputs or None)


class VersionedDataPlane(DataPlane):
    """kserve's DataPlane with the model's versions and platform in its metadata, and malformed
    requests (a binary part shorter than its binary_data_size, a missing field) answered 400, not 500."""

    def decode(self, body, headers, *args, **kwargs):
        try:
            return super().decode(body, headers, *args, **kwargs)
        except InvalidInput:
            raise
        except (ValueError, KeyError, TypeError, IndexError) as e:
            raise InvalidInput(f"malformed inference request: {type(e).__name__}: {e}")

    def decode_inference_request(self, body, headers, model_name):
        json_length = headers.get(INFERENCE_CONTENT_LENGTH_HEADER) if isinstance(body, bytes) else None
        if json_length is None:
            return super().decode_inference_request(body, headers, model_name)
        return decode_binary_request(body, int(json_length), model_name)

    async def model_metadata(self, model_name: str):
        metadata = await super().model_metadata(model_name)
        model = self.get_model_from_registry(model_name)
        metadata["versions"] = [getattr(model, "version", VERSION)]
        metadata["platform"] = getattr(model, "platform", PLATFORM)
        return metadata


class ModelVersions:
    """ASGI middleware: /v2/models/NAME/versions/V[/ready|/infer] is served as /v2/models/NAME[/ready|
    /infer] when V is the model's version, and answers 404 for any other version of a known model.
    Binary responses (those with Inference-Header-Content-Length) get Content-Type
    application/octet-stream."""

    PATH = re.compile(r"^/v2/models/([^/]+)/versions/([^/]+)(/ready|/infer)?/?$")

    def __init__(self, app, versions):
        self.app = app
        self.versions = versions

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            match = self.PATH.match(scope["path"])
            if match:
                name, version, rest = match.groups()
                if name in self.versions and version != self.versions[name]:
                    body = (b'{"error":"Model with name ' + name.encode() + b" and version "
                            + version.encode()[:64] + b' does not exist."}')
                    await send({"type": "http.response.start", "status": 404,
                                "headers": [(b"content-type", b"application/json"),
                                            (b"content-length", str(len(body)).encode())]})
                    await send({"type": "http.response.body", "body": body})
                    return
                path = f"/v2/models/{name}{rest or ''}"
                scope = dict(scope, path=path, raw_path=quote(path).encode())

            async def send_typed(message):
                # kserve sends the binary form without a Content-Type; say what it is.
                if message["type"] == "http.response.start":
                    names = {k.lower() for k, _ in message.get("headers", [])}
                    if b"inference-header-content-length" in names and b"content-type" not in names:
                        message = dict(message, headers=[*message["headers"], (b"content-type", b"application/octet-stream")])
                await send(message)

            await self.app(scope, receive, send_typed)
            return
        await self.app(scope, receive, send)


class LoopbackModelServer(ModelServer):
    """kserve's ModelServer with its REST server alone (no gRPC, one worker) on the given host:
    kserve 0.21's RESTServer hard-codes 0.0.0.0."""

    def __init__(self, host: str, **kwargs):
        super().__init__(enable_grpc=False, workers=1, **kwargs)
        self.host = host
        self.dataplane = VersionedDataPlane(model_registry=self.registered_models)

    def start(self, models):
        self._register_and_check_atleast_one_model_is_ready(models)
        self._rest_server = RESTServer(FASTAPI_APP_IMPORT_STRING, self.dataplane, self.model_repository_extension,
                                       self.http_port, access_log_format=self.access_log_format,
                                       grace_period=self.grace_period, event_loop=self.event_loop,
                                       timeout_keep_alive=self.timeout_keep_alive)
        self._rest_server.config.host = self.host
        self.servers.append(self._rest_server.start())
        self.setup_event_loop()
        self.register_signal_handler()
        asyncio.run(self._serve())


def main():
    ap = argparse.ArgumentParser(parents=[kserve_parser], description=__doc__.splitlines()[0])
    ap.add_argument("--models_dir", required=True, help="folder whose *.onnx files are served")
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    ap.add_argument("--intra_op_threads", type=int, default=int(os.environ.get("SEG_INFERENCE_THREADS", "2")),
                    help="onnxruntime intra-op threads per model (default 2, or SEG_INFERENCE_THREADS)")
    args, _ = ap.parse_known_args()
    files = sorted(pathlib.Path(args.models_dir).glob("*.onnx"))
    if not files:
        sys.exit(f"no *.onnx in {args.models_dir}")
    models = [OnnxModel(f, args.intra_op_threads) for f in files]
    for m in models:
        m.load()
        print(f"model {m.name} version {m.version}: inputs {m.inputs} outputs {m.outputs} "
              f"(onnxruntime {ort.__version__}, {m.threads} threads)", file=sys.stderr, flush=True)
    kserve_app.add_middleware(ModelVersions, versions={m.name: m.version for m in models})
    server = LoopbackModelServer(args.host, http_port=args.http_port, enable_docs_url=False)
    print(f"kserve {importlib.metadata.version('kserve')} serving on http://{args.host}:{args.http_port}",
          file=sys.stderr, flush=True)
    server.start(models)


if __name__ == "__main__":
    main()
