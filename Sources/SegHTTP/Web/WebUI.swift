import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The web UI: static HTML, CSS and ES modules bundled in `Resources/web`, served at `/` and `/assets/<hash>/<name>`.
///
/// The assets are read and hashed once at start. One hash covers the whole bundle, so modules can import each other
/// by relative path (`./api.js`) and every change to any file gives every asset a new URL: assets are served
/// `immutable` for a year, and `index.html` (whose `{{assets}}` placeholders are rewritten to `/assets/<hash>`) is
/// served `no-cache`. A strict Content-Security-Policy allows scripts and styles from this origin only (no inline
/// script), images from this origin and `blob:` (previews of files being uploaded), and connections to this origin
/// (the API and the event socket). These routes are not part of the API: they are not in the route table nor in
/// the OpenAPI document (docs/decisions.md).
struct WebUI: Sendable {
    /// One asset's bytes and media type.
    struct Asset: Sendable {
        var bytes: ByteBuffer
        var contentType: String
    }

    let hash: String
    let index: ByteBuffer
    let assets: [String: Asset]

    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
        + "font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'; object-src 'none'"

    static let mediaTypes = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
        "svg": "image/svg+xml", "png": "image/png", "ico": "image/x-icon", "json": "application/json",
    ]

    /// Loads the bundled UI.
    /// - Throws: When the bundle lacks `web/index.html` (a packaging error: segserver should not start without it).
    static func bundled() throws -> WebUI {
        guard let directory = Bundle.module.url(forResource: "web", withExtension: nil) ?? Bundle.module.resourceURL?.appendingPathComponent("web")
        else {
            throw Problem(.internalServerError, code: "INTERNAL_ERROR", detail: "the web UI is missing from the bundle")
        }
        return try WebUI(directory: directory)
    }

    /// Loads and hashes every file of `directory` (one level deep).
    init(directory: URL) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { !$0.hasPrefix(".") }.sorted()
        var hasher = SHA256()
        var files: [String: Data] = [:]
        for name in names {
            let data = try Data(contentsOf: directory.appendingPathComponent(name))
            files[name] = data
            hasher.update(data: Data(name.utf8))
            hasher.update(data: [0])
            hasher.update(data: data)
        }
        guard let indexData = files.removeValue(forKey: "index.html"), let indexText = String(data: indexData, encoding: .utf8) else {
            throw Problem(.internalServerError, code: "INTERNAL_ERROR", detail: "the web UI has no index.html")
        }
        let hash = hasher.finalize().prefix(8).map { String(format: "%02x", $0) }.joined()
        self.hash = hash
        self.index = ByteBuffer(string: indexText.replacingOccurrences(of: "{{assets}}", with: "/assets/\(hash)"))
        var assets: [String: Asset] = [:]
        for (name, data) in files {
            let ext = String(name.split(separator: ".").last ?? "")
            assets[name] = Asset(bytes: ByteBuffer(bytes: data), contentType: Self.mediaTypes[ext] ?? "application/octet-stream")
        }
        self.assets = assets
    }

    /// The pages that links in mail open (`SEG_PUBLIC_URL` + path + `?token=…`): the same page as `/`, whose script reads
    /// the path and the token (and then drops the token from the address bar).
    static let mailLinkPaths = ["/reset-password", "/verify-email", "/invitations"]

    /// Adds `GET /`, the pages of mail links and `GET /assets/:hash/:name` to `router`.
    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/") { _, _ in page() }
        router.head("/") { _, _ in page() }
        for path in Self.mailLinkPaths {
            router.get(RouterPath(path)) { _, _ in page() }
        }
        router.get("/assets/:hash/:name") { _, context in try asset(context) }
    }

    func page() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-cache"
        headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: index))
    }

    func asset(_ context: AppRequestContext) throws -> Response {
        // An old hash (a page loaded before a deploy) is not found rather than served new bytes as immutable.
        guard context.parameters.get("hash") == hash, let name = context.parameters.get("name"), let asset = assets[name] else {
            throw Problem.notFound("asset")
        }
        var headers = HTTPFields()
        headers[.contentType] = asset.contentType
        headers[.cacheControl] = "public, max-age=31536000, immutable"
        headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: asset.bytes))
    }
}
