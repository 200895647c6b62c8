/// What went wrong in SegAuth. Descriptions never contain passwords, tokens or hashes.
public enum AuthError: Error, Sendable, Equatable {
    /// Unknown email or wrong password: deliberately the same case for both.
    case invalidCredentials
    /// The account is disabled.
    case accountDisabled
    /// A password outside the accepted length; the message says which bound.
    case invalidPassword(String)
    /// An access token that is malformed, badly signed, of another audience or issuer, or not an access token.
    case invalidToken
    /// An access token past its expiry (beyond the leeway).
    case tokenExpired
    /// A refresh token that is unknown, expired or revoked.
    case invalidRefreshToken
    /// A refresh token that was already rotated was presented again: its whole family is now revoked.
    case refreshTokenReused
    /// The signing keys or another setting are unusable.
    case invalidConfiguration(String)
}

extension AuthError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .invalidCredentials: "invalid email or password"
        case .accountDisabled: "the account is disabled"
        case .invalidPassword(let reason): "invalid password: \(reason)"
        case .invalidToken: "invalid access token"
        case .tokenExpired: "the access token has expired"
        case .invalidRefreshToken: "invalid or expired refresh token"
        case .refreshTokenReused: "the refresh token was already used; every session of its family was signed out"
        case .invalidConfiguration(let reason): "invalid authentication configuration: \(reason)"
        }
    }
}
