import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers `Expect: 100-continue` with `100 Continue`, so that clients which ask first (curl does for bodies over
/// 1 KiB) send an upload at once instead of waiting out their timeout (a second for curl). Hummingbird does not
/// answer the expectation itself.
///
/// A body that `Content-Length` already says is over `maxRequestBytes` gets no `100 Continue`: the application
/// answers 413 at once and the client never sends it. Every other request is invited to send its body; the
/// application may still refuse it (401, 404, 415…) after reading.
final class ExpectContinueHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    private let maxRequestBytes: Int

    /// A handler for a server whose largest accepted body is `maxRequestBytes`.
    init(maxRequestBytes: Int) {
        self.maxRequestBytes = maxRequestBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data),
            let expectation = head.headerFields[.expect], expectation.lowercased() == "100-continue",
            head.headerFields[.contentLength].flatMap(Int.init).map({ $0 <= maxRequestBytes }) ?? true
        {
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
        }
        context.fireChannelRead(data)
    }
}
