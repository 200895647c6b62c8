import ArgumentParser
import Foundation
import PostgresNIO
import SegStorage

extension SegCtl {
    /// `segctl projects list|show|transfer`.
    struct Projects: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List and show projects, and move their ownership.", subcommands: [List.self, Show.self, Transfer.self])
    }
}

struct ProjectSummary: Encodable {
    var id: UUID
    var name: String
    var description: String
    var ownerID: UUID
    var ownerEmail: String
    var createdAt: Date
    var imageCounts: ImageStatusCounts
    var members: Int?
}

extension SegCtl.Projects {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every project, newest first.")
        @OptionGroup var database: DatabaseOptions
        @Flag(name: .customLong("json"), help: "Print JSON on stdout instead of a table.") var json = false

        func run() async throws {
            let projects = try await database.withDatabase { postgres in
                var all: [ProjectOverviewRecord] = []
                var page = PageRequest(limit: PageRequest.maximumLimit, after: nil)
                while true {
                    let result = try await ProjectRepository.listAll(page: page, on: postgres)
                    all += result.items
                    guard let next = result.nextCursor else { break }
                    page = try PageRequest(limit: PageRequest.maximumLimit, cursor: next)
                }
                return all
            }
            let summaries = projects.map {
                ProjectSummary(
                    id: $0.id, name: $0.project.name, description: $0.project.description, ownerID: $0.project.ownerID, ownerEmail: $0.ownerEmail,
                    createdAt: $0.project.createdAt, imageCounts: $0.imageCounts, members: nil)
            }
            if json { return try Output.json(summaries) }
            Terminal.output(
                Output.table(
                    ["ID", "NAME", "OWNER", "IMAGES", "SEGMENTED", "FAILED", "CREATED"],
                    summaries.map {
                        [
                            $0.id.uuidString.lowercased(), $0.name, $0.ownerEmail, String($0.imageCounts.total), String($0.imageCounts.segmented),
                            String($0.imageCounts.failed), Output.time($0.createdAt),
                        ]
                    }))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one project with its image counts and members.")
        @Argument(help: "The project's id.") var id: UUID
        @OptionGroup var database: DatabaseOptions
        @Flag(name: .customLong("json"), help: "Print JSON on stdout instead of text.") var json = false

        func run() async throws {
            let summary = try await database.withDatabase { postgres in
                guard let project = try await ProjectRepository.find(id: id, on: postgres) else {
                    throw CLIError.failed("no project \(id.uuidString.lowercased())")
                }
                let counts = try await ProjectRepository.imageCounts(projectID: id, on: postgres)
                let owner = try await UserRepository.find(id: project.ownerID, on: postgres)
                let members = try await ProjectMemberRepository.count(projectID: id, on: postgres)
                return ProjectSummary(
                    id: project.id, name: project.name, description: project.description, ownerID: project.ownerID,
                    ownerEmail: owner?.email ?? "-", createdAt: project.createdAt, imageCounts: counts, members: members)
            }
            if json { return try Output.json(summary) }
            let counts = summary.imageCounts
            Terminal.output(
                """
                id:          \(summary.id.uuidString.lowercased())
                name:        \(summary.name)
                description: \(summary.description)
                owner:       \(summary.ownerEmail)
                members:     \(summary.members ?? 0)
                images:      \(counts.total) (new \(counts.new), queued \(counts.queued), processing \(counts.processing), \
                segmented \(counts.segmented), failed \(counts.failed))
                created:     \(Output.time(summary.createdAt))

                """)
        }
    }

    struct Transfer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make another account the owner of a project (the previous owner stays as an editor).")
        @Argument(help: "The project's id.") var id: UUID
        @Argument(help: "The new owner's email or id.") var owner: String
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let message = try await database.withDatabase { postgres in
                guard let project = try await ProjectRepository.find(id: id, on: postgres) else {
                    throw CLIError.failed("no project \(id.uuidString.lowercased())")
                }
                let heir = try await UserLookup.find(owner, on: postgres)
                guard heir.id != project.ownerID else { return "\(heir.email) already owns \(project.name)\n" }
                _ = try await ProjectRepository.transferOwnership(projectID: id, to: heir.id, on: postgres)
                try await Audit.record(
                    "project.transfer", targetType: "project", targetID: id,
                    details: ["from": project.ownerID.uuidString.lowercased(), "to": heir.id.uuidString.lowercased()], on: postgres)
                return "\(project.name) is now owned by \(heir.email)\n"
            }
            Terminal.output(message)
        }
    }
}
