/// The SegHub release this build belongs to: what `segserver` reports on `/api/health`, what
/// `segctl --version` prints and what backup manifests record. The one place it is written.
public enum SegHubRelease {
    /// The release, as `MAJOR.MINOR.PATCH`.
    public static let version = "0.3.0"
}
