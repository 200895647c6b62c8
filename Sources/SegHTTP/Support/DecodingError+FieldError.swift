import Foundation

extension DecodingError {
    /// The field a decoding error is about (`polygons[2].exterior`, or `body` for the document
    /// itself) and what is wrong with it: the one translation from `Codable`'s errors to the
    /// `errors` of a 400 `VALIDATION_FAILED`, used by every route that reads JSON.
    var fieldError: Problem.FieldError {
        func field(_ path: [any CodingKey]) -> String {
            let text = path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return text.isEmpty ? "body" : String(text.drop { $0 == "." })
        }
        switch self {
        case .keyNotFound(let key, let context):
            return .init(field: field(context.codingPath + [key]), detail: "is required")
        case .typeMismatch(_, let context):
            return .init(field: field(context.codingPath), detail: "has the wrong type")
        case .valueNotFound(_, let context):
            return .init(field: field(context.codingPath), detail: "must not be null")
        case .dataCorrupted(let context):
            return .init(field: field(context.codingPath), detail: context.codingPath.isEmpty ? "is not valid JSON" : "has an invalid value")
        @unknown default:
            return .init(field: "body", detail: "is not valid JSON")
        }
    }
}

extension Problem {
    /// 400 `VALIDATION_FAILED` naming the field a decoding error is about.
    static func validation(for error: DecodingError) -> Problem {
        let problem = error.fieldError
        return .validation("\(problem.field) \(problem.detail)", errors: [problem])
    }
}
