import Foundation
import SegTestSupport
import Testing

/// The Prometheus alerts and the Grafana dashboard name only series that segserver exports: a running application
/// is scraped, and every metric name in every alert expression and dashboard query must be among its series. The
/// host's and PostgreSQL's series (`node_…`, `pg_…`) come from node-exporter and postgres-exporter:
/// scripts/checks/test-monitoring.sh checks those against the real exporters.
@Suite(.timeLimit(.minutes(5))) struct MonitoringConfigTests {
    static let root = checkoutRoot

    /// Series Prometheus records itself for every target.
    static let prometheusOwn: Set<String> = ["up", "scrape_duration_seconds", "scrape_samples_scraped"]

    /// Whether a series comes from one of the exporters rather than segserver.
    static func isExporters(_ name: String) -> Bool { name.hasPrefix("node_") || name.hasPrefix("pg_") }

    /// PromQL functions, aggregations and keywords: names that are not series.
    static let promQLWords: Set<String> = [
        "sum", "min", "max", "avg", "count", "topk", "bottomk", "quantile", "stddev", "stdvar", "by", "without", "on",
        "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "rate", "irate", "increase",
        "delta", "idelta", "deriv", "predict_linear", "histogram_quantile", "clamp_min", "clamp_max", "abs", "time",
        "vector", "scalar", "absent", "absent_over_time", "max_over_time", "min_over_time", "avg_over_time",
        "sum_over_time", "count_over_time", "label_replace", "round", "ceil", "floor", "changes", "resets", "timestamp",
    ]

    /// The series names in one PromQL expression: quoted strings, ranges and label matchers removed, then every
    /// identifier that is not a PromQL word or a grouping label.
    static func seriesNames(in expression: String) throws -> Set<String> {
        var text = expression
        for pattern in [#""[^"]*""#, #"\[[^\]]*\]"#, #"\{[^}]*\}"#] {
            text = try NSRegularExpression(pattern: pattern).stringByReplacingMatches(
                in: text, range: NSRange(text.startIndex..., in: text), withTemplate: " ")
        }
        // Labels named in `by (…)` / `without (…)` groupings.
        var grouping = Set<String>()
        let groups = try NSRegularExpression(pattern: #"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)"#)
        for match in groups.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            if let range = Range(match.range(at: 1), in: text) {
                for label in text[range].split(separator: ",") { grouping.insert(label.trimmingCharacters(in: .whitespaces)) }
            }
        }
        let identifiers = try NSRegularExpression(pattern: #"(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*"#)
        var names = Set<String>()
        for match in identifiers.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            guard let range = Range(match.range, in: text) else { continue }
            let word = String(text[range])
            if !promQLWords.contains(word), !grouping.contains(word) {
                names.insert(word)
            }
        }
        return names
    }

    /// Every `expr:` of alerts.yml (single line or a `|` block).
    static func alertExpressions() throws -> [String] {
        let text = try String(contentsOf: root.appendingPathComponent("deploy/prometheus/alerts.yml"), encoding: .utf8)
        var expressions: [String] = []
        var current: [String]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("expr:") {
                if let current { expressions.append(current.joined(separator: " ")) }
                let rest = trimmed.dropFirst("expr:".count).trimmingCharacters(in: .whitespaces)
                current = rest == "|" ? [] : [rest]
            } else if current != nil, let key = trimmed.split(separator: ":").first, ["for", "labels", "annotations"].contains(String(key)) {
                expressions.append(current?.joined(separator: " ") ?? "")
                current = nil
            } else if current != nil {
                current?.append(trimmed)
            }
        }
        if let current { expressions.append(current.joined(separator: " ")) }
        return expressions
    }

    /// Every `expr` of the dashboard's panels.
    static func dashboardExpressions() throws -> [String] {
        let data = try Data(contentsOf: root.appendingPathComponent("deploy/grafana/seghub-dashboard.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        return panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
    }

    @Test func theExtractorFindsSeriesAndSkipsEverythingElse() throws {
        let names = try Self.seriesNames(
            in: #"histogram_quantile(0.99, sum by (le, route) (rate(a_seconds_bucket{route!~".*/x"}[5m]))) > 1e-9 and b_total"#)
        #expect(names == ["a_seconds_bucket", "b_total"])
    }

    @Test func alertsAndDashboardNameOnlyExportedSeries() async throws {
        let alerts = try Self.alertExpressions()
        let queries = try Self.dashboardExpressions()
        #expect(alerts.count == 15)
        #expect(queries.count >= 10)
        // One model, on a port where nothing listens: its readiness gauge is exported (as 0).
        let registry = FileManager.default.temporaryDirectory.appendingPathComponent("models-\(UUID().uuidString).json")
        try Data(
            #"{"models": [{"name": "m", "server": "http://127.0.0.1:9", "model": "m", "input": {"name": "i", "size": "image"}, "output": {"name": "o", "kind": "logits"}}]}"#
                .utf8
        ).write(to: registry)
        defer { try? FileManager.default.removeItem(at: registry) }
        try await withTestApp(environment: ["SEG_MODELS_FILE": registry.path]) { app in
            // setup: a request, so that the request series exist
            _ = try await app.request(.get, "/health")

            // MUT: the series segserver exports. A scrape whose database query timed out (a loaded machine) leaves the
            // job and pool gauges out by design: scrape until it has them.
            var scrape = ""
            try await eventually("a scrape with the job and pool gauges") {
                scrape = String(buffer: try await app.request(.get, "/metrics").body)
                return scrape.contains("seghub_jobs{") && scrape.contains("seghub_db_pool_connections{state=\"in_use\"}")
            }
            let exported = Set(
                scrape.split(separator: "\n").filter { !$0.hasPrefix("#") }
                    .compactMap { $0.split(whereSeparator: { $0 == "{" || $0 == " " }).first.map(String.init) })

            // validate
            for expression in alerts + queries {
                let unknown = try Self.seriesNames(in: expression).subtracting(exported).subtracting(Self.prometheusOwn)
                    .filter { !Self.isExporters($0) }
                #expect(unknown.isEmpty, "\(expression) names \(unknown.sorted()), which segserver does not export")
            }
        }
    }
}
