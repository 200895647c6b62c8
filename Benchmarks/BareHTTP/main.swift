// seg-bare-http: a bare Hummingbird 2 server, the baseline scripts/bench/bench-http.sh measures segserver's
// middleware stack against. It answers `GET /health` with the same body as segserver's liveness
// route, with no middleware at all, and `POST /sink` reads a request body to its end and answers
// its size (the baseline for upload throughput).
// Usage: seg-bare-http [PORT]   (default 8090, on 127.0.0.1)
import Hummingbird

let port = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 8090
let router = Router()
router.get("/health") { _, _ -> Response in
    var headers = HTTPFields()
    headers[.contentType] = "application/json; charset=utf-8"
    return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
}
router.post("/sink") { request, _ -> String in
    var bytes = 0
    for try await chunk in request.body { bytes += chunk.readableBytes }
    return "\(bytes)"
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "bare"))
try await app.runService()
