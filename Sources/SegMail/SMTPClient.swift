import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// Sends one message per connection to an SMTP submission server (RFC 5321, 6409): implicit TLS or STARTTLS, AUTH
/// PLAIN or LOGIN only over TLS, every step bounded by the settings' timeout.
///
/// Errors are ``MailError``: `.temporary` for 4xx answers, refused or broken connections, TLS failures and timeouts
/// (another attempt may succeed), `.permanent` for 5xx answers.
///
/// ## Usage
/// ```swift
/// let client = try SMTPClient(settings: SMTPSettings(url: "smtps://seghub:secret@mail.lab.example"))
/// let answer = try await client.send(message, messageID: "<1234@lab.example>", logger: logger)
/// ```
public struct SMTPClient: Sendable {
    /// Where mail goes.
    public let settings: SMTPSettings
    private let group: any EventLoopGroup
    private let tls: NIOSSLContext

    /// Prepares a client (the TLS context is made once here).
    /// - Throws: ``MailError/invalidSettings(_:)`` when the CA file cannot be read.
    public init(settings: SMTPSettings, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws(MailError) {
        self.settings = settings
        self.group = group
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caFile = settings.caFile { configuration.additionalTrustRoots = [.file(caFile)] }
        if !settings.verifyCertificate { configuration.certificateVerification = .none }
        do {
            tls = try NIOSSLContext(configuration: configuration)
        } catch {
            throw .invalidSettings("the TLS settings cannot be used (ca_file \(settings.caFile ?? "none")): \(error)")
        }
    }

    /// Sends `message` and returns the server's answer to the end of the data (often its queue id).
    /// - Throws: ``MailError`` only.
    public func send(_ message: MailMessage, messageID: String, date: Date = Date(), logger: Logger) async throws -> String {
        let data = MIMEText.dotStuffed(message.rendered(date: date, messageID: messageID))
        let channel: any Channel
        do {
            channel = try await connect()
        } catch {
            throw MailError.temporary("connecting to \(settings.host):\(settings.port) failed: \(Self.describe(error))")
        }
        do {
            let answer = try await converse(on: channel, from: message.from.address, to: message.to.address, data: data, logger: logger)
            try? await channel.close()
            return answer
        } catch {
            try? await channel.close()
            if let error = error as? MailError { throw error }
            throw MailError.temporary("SMTP with \(settings.host):\(settings.port) failed: \(Self.describe(error))")
        }
    }

    private func connect() async throws -> any Channel {
        let (tls, host, implicit) = (tls, settings.host, settings.security == .implicitTLS)
        return try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(Int64(settings.timeoutSeconds)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if implicit {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: Self.sniName(host)))
                    }
                    try channel.pipeline.syncOperations.addHandler(SMTPReplyHandler())
                }
            }
            .connect(host: host, port: settings.port).get()
    }

    /// The whole exchange after connecting.
    private func converse(on channel: any Channel, from: String, to: String, data: [UInt8], logger: Logger) async throws -> String {
        let timeout = TimeAmount.seconds(Int64(settings.timeoutSeconds))
        var secure = settings.security == .implicitTLS
        try Self.expect(try await Self.reply(channel, timeout), 220, step: "the greeting")
        var extensions = try await ehlo(channel, timeout)
        if !secure, extensions.keys.contains("STARTTLS") {
            try await Self.write(channel, "STARTTLS\r\n")
            try Self.expect(try await Self.reply(channel, timeout), 220, step: "STARTTLS")
            let (tls, host) = (tls, settings.host)
            try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.addHandler(
                    NIOSSLClientHandler(context: tls, serverHostname: Self.sniName(host)), position: .first)
            }.get()
            secure = true
            // RFC 3207: everything learnt before TLS is forgotten.
            extensions = try await ehlo(channel, timeout)
        }
        if !secure, settings.security == .startTLSRequired {
            throw MailError.temporary("\(settings.host) offers no STARTTLS and SEG_SMTP_URL requires it (starttls=required)")
        }
        if let credentials = settings.credentials {
            guard secure else {
                throw MailError.temporary(
                    "\(settings.host) offers no STARTTLS: credentials are never sent in clear (use smtps:// or a server with STARTTLS)")
            }
            try await authenticate(channel, credentials, mechanisms: extensions["AUTH"] ?? [], timeout)
        }
        try await Self.write(channel, "MAIL FROM:<\(from)>\r\n")
        try Self.expect(try await Self.reply(channel, timeout), 250, step: "MAIL FROM")
        try await Self.write(channel, "RCPT TO:<\(to)>\r\n")
        let recipient = try await Self.reply(channel, timeout)
        if recipient.code != 251 { try Self.expect(recipient, 250, step: "RCPT TO") }
        try await Self.write(channel, "DATA\r\n")
        try Self.expect(try await Self.reply(channel, timeout), 354, step: "DATA")
        try await channel.writeAndFlush(ByteBuffer(bytes: data))
        let accepted = try await Self.reply(channel, timeout, step: "the end of the message")
        try Self.expect(accepted, 250, step: "the message")
        logger.debug("mail accepted", metadata: ["smtp.host": "\(settings.host)", "smtp.reply": "\(accepted.text)"])
        // The message is delivered; a lost answer to QUIT changes nothing.
        if (try? await Self.write(channel, "QUIT\r\n")) != nil {
            _ = try? await Self.reply(channel, .seconds(2))
        }
        return accepted.text
    }

    /// EHLO, and the extensions it lists (keyword → parameters).
    private func ehlo(_ channel: any Channel, _ timeout: TimeAmount) async throws -> [String: [String]] {
        try await Self.write(channel, "EHLO \(settings.heloName)\r\n")
        let answer = try await Self.reply(channel, timeout)
        try Self.expect(answer, 250, step: "EHLO")
        var extensions: [String: [String]] = [:]
        for line in answer.lines.dropFirst() {
            let words = line.uppercased().split(separator: " ").map(String.init)
            if let keyword = words.first { extensions[keyword] = Array(words.dropFirst()) }
        }
        return extensions
    }

    /// AUTH PLAIN (RFC 4616) where offered or nothing is listed, else AUTH LOGIN.
    private func authenticate(
        _ channel: any Channel, _ credentials: SMTPSettings.Credentials, mechanisms: [String], _ timeout: TimeAmount
    ) async throws {
        if mechanisms.contains("PLAIN") || !mechanisms.contains("LOGIN") {
            let token = Data(([0] + Array(credentials.user.utf8) + [0] + Array(credentials.password.utf8))).base64EncodedString()
            try await Self.write(channel, "AUTH PLAIN \(token)\r\n")
            try Self.expect(try await Self.reply(channel, timeout), 235, step: "AUTH PLAIN")
            return
        }
        try await Self.write(channel, "AUTH LOGIN\r\n")
        try Self.expect(try await Self.reply(channel, timeout), 334, step: "AUTH LOGIN")
        try await Self.write(channel, Data(credentials.user.utf8).base64EncodedString() + "\r\n")
        try Self.expect(try await Self.reply(channel, timeout), 334, step: "AUTH LOGIN (user)")
        try await Self.write(channel, Data(credentials.password.utf8).base64EncodedString() + "\r\n")
        try Self.expect(try await Self.reply(channel, timeout), 235, step: "AUTH LOGIN (password)")
    }

    // MARK: Wire

    private static func write(_ channel: any Channel, _ line: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: line))
    }

    /// The next complete reply, or a timeout naming `step`.
    private static func reply(_ channel: any Channel, _ timeout: TimeAmount, step: String = "a reply") async throws -> SMTPReply {
        try await channel.eventLoop.flatSubmit { () -> EventLoopFuture<SMTPReply> in
            do {
                return try channel.pipeline.syncOperations.handler(type: SMTPReplyHandler.self).next(timeout: timeout, step: step)
            } catch {
                return channel.eventLoop.makeFailedFuture(error)
            }
        }.get()
    }

    /// Throws unless `reply` has `code`: temporary for 4xx (and anything unexpected), permanent for 5xx.
    private static func expect(_ reply: SMTPReply, _ code: Int, step: String) throws {
        guard reply.code != code else { return }
        let text = "the SMTP server answered \(step) with \(reply.code) \(reply.text)"
        if (500..<600).contains(reply.code) { throw MailError.permanent(text) }
        throw MailError.temporary(text)
    }

    /// The TLS server name: nil for an IPv4 or IPv6 address (as NIO parses them), which SNI cannot carry (the
    /// certificate chain is still checked).
    static func sniName(_ host: String) -> String? {
        (try? SocketAddress(ipAddress: host, port: 0)) == nil ? host : nil
    }

    private static func describe(_ error: any Error) -> String {
        if let failure = error as? SMTPReplyHandler.Failure { return failure.description }
        return "\(error)"
    }
}

/// One SMTP reply: its code and the text of each line.
struct SMTPReply: Sendable, Equatable {
    var code: Int
    var lines: [String]

    /// The lines joined by spaces.
    var text: String { lines.joined(separator: " ") }
}

/// Parses replies from the byte stream (multi-line ones by their `NNN-` continuation) and hands them out one at a
/// time, each waited for with a deadline. Lives on the channel's event loop only.
final class SMTPReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    /// Why no reply came.
    enum Failure: Error, CustomStringConvertible {
        case timedOut(String)
        case closed
        case malformed(String)

        var description: String {
            switch self {
            case .timedOut(let step): return "no answer to \(step) in time"
            case .closed: return "the server closed the connection"
            case .malformed(let line): return "the server sent something that is not an SMTP reply: \(line.prefix(80).debugDescription)"
            }
        }
    }

    /// Longest line accepted (RFC 5321 allows 512; servers' banners run longer).
    static let maxLine = 4096
    /// Most lines in one reply.
    static let maxLines = 200

    private var buffer = ByteBuffer()
    private var lines: [String] = []
    private var ready: [Result<SMTPReply, any Error>] = []
    private var waiter: (promise: EventLoopPromise<SMTPReply>, timeout: Scheduled<Void>)?
    private var finished: (any Error)?
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        buffer.writeBuffer(&bytes)
        while let end = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = end - buffer.readerIndex
            guard var line = buffer.readString(length: length) else { break }
            buffer.moveReaderIndex(forwardBy: 1)
            if line.hasSuffix("\r") { line.removeLast() }
            parse(line, context: context)
        }
        if buffer.readableBytes > Self.maxLine { fail(Failure.malformed("a line of more than \(Self.maxLine) bytes"), context: context) }
        buffer.discardReadBytes()
    }

    private func parse(_ line: String, context: ChannelHandlerContext) {
        let utf8 = Array(line.utf8)
        guard utf8.count >= 3, utf8[0..<3].allSatisfy({ (48...57).contains($0) }), utf8.count == 3 || utf8[3] == 32 || utf8[3] == 45,
            let code = Int(String(decoding: utf8[0..<3], as: UTF8.self))
        else {
            fail(Failure.malformed(line), context: context)
            return
        }
        lines.append(utf8.count > 4 ? String(decoding: utf8[4...], as: UTF8.self) : "")
        if lines.count > Self.maxLines {
            fail(Failure.malformed("a reply of more than \(Self.maxLines) lines"), context: context)
            return
        }
        if utf8.count == 3 || utf8[3] == 32 {
            deliver(.success(SMTPReply(code: code, lines: lines)))
            lines = []
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error, context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if finished == nil { finished = Failure.closed }
        if let waiter {
            self.waiter = nil
            waiter.timeout.cancel()
            waiter.promise.fail(finished ?? Failure.closed)
        }
        context.fireChannelInactive()
    }

    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        guard finished == nil else { return }
        finished = error
        deliver(.failure(error))
        context.close(promise: nil)
    }

    private func deliver(_ result: Result<SMTPReply, any Error>) {
        if let waiter {
            self.waiter = nil
            waiter.timeout.cancel()
            waiter.promise.completeWith(result)
        } else {
            ready.append(result)
        }
    }

    private func timedOut(_ step: String) {
        guard let context else { return }
        fail(Failure.timedOut(step), context: context)
    }

    /// The next reply: one already read, or the next to arrive within `timeout` (else the connection is closed).
    func next(timeout: TimeAmount, step: String) -> EventLoopFuture<SMTPReply> {
        guard let context else { return MultiThreadedEventLoopGroup.singleton.any().makeFailedFuture(Failure.closed) }
        if !ready.isEmpty { return context.eventLoop.makeCompletedFuture(ready.removeFirst()) }
        if let finished { return context.eventLoop.makeFailedFuture(finished) }
        let promise = context.eventLoop.makePromise(of: SMTPReply.self)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let scheduled = context.eventLoop.scheduleTask(in: timeout) { handler.value.timedOut(step) }
        waiter = (promise, scheduled)
        return promise.futureResult
    }
}
