import Foundation
import HTTPTypes
import Hummingbird

/// The client's address: the TCP peer, unless the peer is one of `SEG_TRUSTED_PROXIES`; then the right-most
/// address of `X-Forwarded-For` that is not itself a trusted proxy, so a client cannot choose its own address by
/// sending the header (RELIABILITY U4).
struct ClientAddress: Sendable {
    let trustedProxies: [IPAddressRange]

    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    func resolve(_ request: Request, peer: String?) -> String? {
        resolve(forwardedFor: request.headers[values: Self.forwardedFor], peer: peer)
    }

    /// The same from the `X-Forwarded-For` values as sent (for a request that is not yet a Hummingbird `Request`).
    func resolve(forwardedFor values: [String], peer: String?) -> String? {
        guard let peer, trustedProxies.contains(where: { $0.contains(peer) }) else { return peer }
        let hops =
            values
            .flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { IPAddressRange.parseAddress($0) != nil }
        for hop in hops.reversed() where !trustedProxies.contains(where: { $0.contains(hop) }) {
            return hop
        }
        return hops.first ?? peer
    }
}
