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
        guard let peer, trustedProxies.contains(where: { $0.contains(peer) }) else { return peer }
        let hops = request.headers[values: Self.forwardedFor]
            .flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { IPAddressRange.parseAddress($0) != nil }
        for hop in hops.reversed() where !trustedProxies.contains(where: { $0.contains(hop) }) {
            return hop
        }
        return hops.first ?? peer
    }
}
