/// A condition that `eventually` waited for in vain.
public struct ConditionTimedOut: Error, CustomStringConvertible {
    /// What was waited for, for how long, and where.
    public var description: String
}

/// Polls `condition` until it holds, for what another task, process or the database does in its own time (a worker
/// finishing a job, a listener connecting, a gauge appearing).
///
/// The timeout only guards against a hang: it is generous so that a slow machine does not fail the test, and a test
/// that needs something to happen *soon* measures that itself.
/// - Parameters:
///   - what: What is waited for, said in the error; read only on timeout, so it may show the last state the condition saw.
///   - timeout: How long to keep polling.
///   - interval: The pause between two polls.
///   - condition: Checked at once, then after each pause.
/// - Throws: `ConditionTimedOut` when `condition` still does not hold after `timeout`, and whatever `condition` throws.
public func eventually(
    _ what: @autoclosure () -> String = "the condition",
    timeout: Duration = .seconds(60),
    interval: Duration = .milliseconds(100),
    fileID: String = #fileID,
    line: Int = #line,
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            throw ConditionTimedOut(description: "\(fileID):\(line): timed out after \(timeout) waiting for \(what())")
        }
        try await Task.sleep(for: interval)
    }
}
