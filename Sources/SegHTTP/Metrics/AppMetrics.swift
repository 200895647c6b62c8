import Foundation
import Prometheus
import Synchronization

/// The application's Prometheus metrics, in a registry of its own (no global bootstrap, so tests can build many
/// applications in one process). Served at `/metrics`.
///
/// Labels never hold user ids, emails or raw paths: `route` is the matched route pattern (`/api/v1/images/{id}`).
public final class AppMetrics: Sendable {
    /// The registry `/metrics` emits.
    public let registry = PrometheusCollectorRegistry()

    static let durationBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
    ]

    static let jobBuckets: [Duration] = [
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5),
        .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300),
    ]

    /// A registry whose job and image series exist from the start (at zero), so that alerts and dashboards see
    /// them before the first job ends.
    public init() {
        for result in ["segmented", "failed"] { _ = imagesProcessed(result: result) }
        for kind in ["segment", "export"] {
            for result in ["succeeded", "failed", "retried"] { _ = jobDuration(kind: kind, result: result) }
        }
    }

    /// Counts one answered request and its duration.
    public func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        let key = RequestSeriesKey(route: route, method: method, status: status)
        let (counter, histogram) = requestSeries.withLock { cache in
            if let series = cache[key] { return series }
            let series = (
                registry.makeCounter(
                    descriptor: .init(metricName: "http_server_requests", unitName: "total", helpText: "HTTP requests answered"),
                    labels: [("route", route), ("method", method), ("status", String(status))]),
                registry.makeDurationHistogram(
                    descriptor: .init(
                        metricName: "http_server_request_duration", unitName: "seconds", helpText: "Time to answer HTTP requests"),
                    labels: [("route", route), ("method", method)],
                    buckets: Self.durationBuckets)
            )
            cache[key] = series
            return series
        }
        counter.increment()
        histogram.record(duration)
    }

    /// The series of one route, method and status; their number is bounded by the route patterns (unknown paths are
    /// all `unmatched`), so the cache needs no eviction.
    private struct RequestSeriesKey: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    /// Looked up once per key instead of building descriptors and label lists on every request.
    private let requestSeries = Mutex<[RequestSeriesKey: (Counter, DurationHistogram)]>([:])

    /// Records how long a job of `kind` took and how it ended (`succeeded`, `failed`, `retried`).
    public func recordJob(kind: String, result: String, duration: Duration) {
        jobDuration(kind: kind, result: result).record(duration)
    }

    /// Counts an image the segmentation worker finished (`segmented` or `failed`).
    public func recordImageProcessed(result: String) {
        imagesProcessed(result: result).increment()
    }

    private func jobDuration(kind: String, result: String) -> DurationHistogram {
        registry.makeDurationHistogram(
            descriptor: .init(metricName: "seghub_job_duration", unitName: "seconds", helpText: "Time jobs took to run"),
            labels: [("kind", kind), ("result", result)], buckets: Self.jobBuckets)
    }

    private func imagesProcessed(result: String) -> Counter {
        registry.makeCounter(
            descriptor: .init(metricName: "seghub_images_processed", unitName: "total", helpText: "Images segmented or failed"),
            labels: [("result", result)])
    }

    /// Counts one inference request to `model` and how it ended (`ok`, `unavailable`, `error`), with its duration.
    public func recordInference(model: String, result: String, duration: Duration) {
        registry.makeCounter(
            descriptor: .init(metricName: "seghub_inference_requests", unitName: "total", helpText: "Inference requests by model and result"),
            labels: [("model", model), ("result", result)]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: .init(metricName: "seghub_inference_duration", unitName: "seconds", helpText: "Time one image took on its model server"),
            labels: [("model", model)], buckets: Self.jobBuckets
        ).record(duration)
    }

    /// Counts one request to the S3 object store by operation and result (`ok`, `not_found`, `rejected`, `retry`,
    /// `unavailable`), with its duration.
    public func recordObjectStore(operation: String, result: String, duration: Duration) {
        registry.makeCounter(
            descriptor: .init(
                metricName: "seghub_object_store_requests", unitName: "total", helpText: "Object store requests by operation and result"),
            labels: [("operation", operation), ("result", result)]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: .init(
                metricName: "seghub_object_store_request_duration", unitName: "seconds", helpText: "Time one object store request took"),
            labels: [("operation", operation)], buckets: Self.durationBuckets
        ).record(duration)
    }

    /// Sets the job gauge for one kind and state.
    func setJobs(kind: String, state: String, count: Int) {
        registry.makeGauge(
            descriptor: .init(metricName: "seghub_jobs", unitName: "", helpText: "Jobs by kind and state"),
            labels: [("kind", kind), ("state", state)]
        ).set(Double(count))
    }

    /// Sets a plain gauge.
    func setGauge(_ name: String, help: String, labels: [(String, String)] = [], to value: Double) {
        registry.makeGauge(descriptor: .init(metricName: name, unitName: "", helpText: help), labels: labels).set(value)
    }
}
