import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import SegAuth
import SegStorage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SegCtl {
    /// `segctl users …`: accounts.
    struct Users: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List, show, create and change accounts.",
            subcommands: [List.self, Show.self, Create.self, Verify.self, SetRole.self, Disable.self, Enable.self, ResetPassword.self, Delete.self]
        )
    }
}

/// Account output shared by the users commands (never the password hash).
struct UserSummary: Encodable {
    var id: UUID
    var email: String
    var name: String
    var role: String
    var disabled: Bool
    var mustChangePassword: Bool
    var emailVerifiedAt: Date?
    var createdAt: Date
    var ownedProjects: Int?
    /// Bytes of the images in the owned projects (what `SEG_USER_QUOTA_BYTES` counts).
    var storedBytes: Int64?

    init(_ user: UserRecord, ownedProjects: Int? = nil, storedBytes: Int64? = nil) {
        id = user.id
        email = user.email
        name = user.name
        role = user.role.rawValue
        disabled = user.isDisabled
        mustChangePassword = user.mustChangePassword
        emailVerifiedAt = user.emailVerifiedAt
        createdAt = user.createdAt
        self.ownedProjects = ownedProjects
        self.storedBytes = storedBytes
    }
}

enum UserLookup {
    /// The account with this email (any letter case) or id, or exit 1 naming it.
    static func find(_ reference: String, on database: Database) async throws -> UserRecord {
        let found: UserRecord?
        if let id = UUID(uuidString: reference) {
            found = try await UserRepository.find(id: id, on: database)
        } else {
            found = try await UserRepository.find(email: reference, on: database)
        }
        guard let found else { throw CLIError.failed("no user \(reference)") }
        return found
    }

    /// Refuses to take away the last enabled admin (nobody could administer the hub over HTTP any more).
    static func ensureAnotherAdmin(besides user: UserRecord, on database: Database) async throws {
        guard user.role == .admin, !user.isDisabled else { return }
        let admins = try await UserRepository.count(UserFilter(role: .admin, disabled: false), on: database)
        if admins <= 1 { throw CLIError.failed("\(user.email) is the last enabled admin; make another admin first") }
    }

    /// A random one-time password: 20 characters from 56 unambiguous letters and digits (about 116 bits).
    static func generatePassword() -> String {
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    /// An `invitation.activate` entry on each project an invitation made the account a member of.
    static func auditActivations(_ registration: Registration, on database: Database) async throws {
        for invitation in registration.activated {
            try await Audit.record(
                "invitation.activate", targetType: "project", targetID: invitation.projectID,
                details: [
                    "invitationId": invitation.id.uuidString.lowercased(), "userId": registration.user.id.uuidString.lowercased(),
                    "role": invitation.role.rawValue,
                ], on: database)
        }
    }

    static func audit(_ action: String, _ user: UserRecord, details: [String: Any] = [:], on database: Database) async throws {
        var details = details
        details["email"] = user.email
        try await Audit.record(action, targetType: "user", targetID: user.id, details: details, on: database)
    }
}

extension SegCtl.Users {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List accounts, oldest first.")
        @OptionGroup var database: DatabaseOptions
        @Option(name: .customLong("role"), help: "Only accounts with this role (user or admin).") var role: AccountRole?
        @Flag(name: .customLong("json"), help: "Print JSON on stdout instead of a table.") var json = false

        func run() async throws {
            let users = try await database.withDatabase { postgres in
                var all: [UserRecord] = []
                var page = PageRequest(limit: PageRequest.maximumLimit, after: nil)
                while true {
                    let result = try await UserRepository.list(UserFilter(role: role), page: page, on: postgres)
                    all += result.items
                    guard let next = result.nextCursor else { break }
                    page = try PageRequest(limit: PageRequest.maximumLimit, cursor: next)
                }
                return all
            }
            if json { return try Output.json(users.map { UserSummary($0) }) }
            Terminal.output(
                Output.table(
                    ["EMAIL", "NAME", "ROLE", "STATE", "CREATED"],
                    users.map {
                        [
                            $0.email, $0.name, $0.role.rawValue,
                            $0.isDisabled
                                ? "disabled" : ($0.mustChangePassword ? "must-change-password" : ($0.isEmailVerified ? "active" : "unverified")),
                            Output.time($0.createdAt),
                        ]
                    }))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one account.",
            discussion: "Storage used is the bytes of the images in the account's projects; with SEG_USER_QUOTA_BYTES set, also its share of it.")
        @Argument(help: "Email or id.") var user: String
        @OptionGroup var database: DatabaseOptions
        @Flag(name: .customLong("json"), help: "Print JSON on stdout instead of text.") var json = false

        /// " of QUOTA (P %)" when `SEG_USER_QUOTA_BYTES` is set in the environment, else nothing.
        static func quotaText(_ used: Int64) -> String {
            guard let text = ProcessInfo.processInfo.environment["SEG_USER_QUOTA_BYTES"], let quota = Int64(text), quota > 0 else { return "" }
            return " of \(quota) (SEG_USER_QUOTA_BYTES, \(used * 100 / quota) %)"
        }

        func run() async throws {
            let summary = try await database.withDatabase { postgres in
                let record = try await UserLookup.find(user, on: postgres)
                return UserSummary(
                    record, ownedProjects: try await UserRepository.ownedProjectCount(id: record.id, on: postgres),
                    storedBytes: try await UserRepository.storedBytes(id: record.id, on: postgres))
            }
            if json { return try Output.json(summary) }
            Terminal.output(
                """
                id:                   \(summary.id.uuidString.lowercased())
                email:                \(summary.email)
                name:                 \(summary.name)
                role:                 \(summary.role)
                disabled:             \(summary.disabled ? "yes" : "no")
                must change password: \(summary.mustChangePassword ? "yes" : "no")
                address confirmed:    \(summary.emailVerifiedAt.map { Output.time($0) } ?? "no")
                owned projects:       \(summary.ownedProjects ?? 0)
                storage used:         \(summary.storedBytes ?? 0) bytes\(Self.quotaText(summary.storedBytes ?? 0))
                created:              \(Output.time(summary.createdAt))

                """)
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an account.",
            discussion: """
                When stdin is not a terminal, its first line is the password. Otherwise a one-time password is \
                generated and printed once, and the user must change it at the first login. Projects that invited \
                the address make the account a member with the invited role.
                """)
        @Argument(help: "The email.") var email: String
        @Option(name: .customLong("name"), help: "The display name.") var name = ""
        @Option(name: .customLong("role"), help: "user or admin.") var role: AccountRole = .user
        @OptionGroup var database: DatabaseOptions
        @Flag(name: .customLong("json"), help: "Print JSON on stdout instead of text.") var json = false

        func validate() throws {
            guard email.contains("@"), !email.hasPrefix("@"), !email.hasSuffix("@"), email.count <= 254 else {
                throw ValidationError("'\(email)' is not an email address")
            }
        }

        struct Report: Encodable {
            var user: UserSummary
            var password: String?
        }

        func run() async throws {
            let supplied: String?
            if isatty(0) == 0 {
                guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                    Terminal.warn("segctl: stdin is not a terminal but holds no password line")
                    throw ExitCode(1)
                }
                supplied = line
            } else {
                supplied = nil
            }
            let password = supplied ?? UserLookup.generatePassword()
            do {
                try PasswordHasher.validate(password)
            } catch {
                Terminal.warn("segctl: \(error)")
                throw ExitCode(1)
            }
            let registration = try await database.withDatabase { postgres in
                if try await UserRepository.find(email: email, on: postgres) != nil { throw CLIError.failed("\(email) is already registered") }
                let hash = try await PasswordHasher().hash(password)
                // The account and the memberships its address was invited to, in one transaction.
                let registration = try await UserRepository.register(
                    NewUser(email: email, name: name, passwordHash: hash, role: role, mustChangePassword: supplied == nil), on: postgres)
                try await UserLookup.audit("user.create", registration.user, details: ["role": role.rawValue], on: postgres)
                try await UserLookup.auditActivations(registration, on: postgres)
                return registration
            }
            let created = registration.user
            let generated = supplied == nil ? password : nil
            if json { return try Output.json(Report(user: UserSummary(created), password: generated)) }
            Terminal.output("created \(created.email) (\(created.role.rawValue)), id \(created.id.uuidString.lowercased())\n")
            if !registration.activated.isEmpty {
                Terminal.output("member of \(registration.activated.count) project(s) through pending invitations\n")
            }
            if let generated {
                Terminal.output("one-time password: \(generated)\n")
                Terminal.warn("the password is shown only now; \(created.email) must change it at the first login")
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Confirm an account's address as its owner would by following the mailed link.",
            discussion: """
                For installations without mail (SEG_SMTP_URL), or a user whose mail does not arrive: the account may then \
                sign in while SEG_REQUIRE_EMAIL_VERIFICATION is on, and projects that invited its address make it a \
                member. Check that the address is really the user's first.
                """)
        @Argument(help: "Email or id.") var user: String
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let (registration, wasVerified) = try await database.withDatabase { postgres in
                let record = try await UserLookup.find(user, on: postgres)
                let registration = try await UserRepository.markEmailVerified(id: record.id, on: postgres)
                if !record.isEmailVerified {
                    try await UserLookup.audit("user.email.verify", registration.user, details: ["verifiedBy": "segctl"], on: postgres)
                }
                try await UserLookup.auditActivations(registration, on: postgres)
                return (registration, record.isEmailVerified)
            }
            let joined = registration.activated.count
            Terminal.output(
                "\(registration.user.email) \(wasVerified ? "was already confirmed" : "is confirmed")"
                    + (joined > 0 ? "; it joined \(joined) project(s) that invited it\n" : "\n"))
        }
    }

    struct SetRole: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-role", abstract: "Make an account a user or an admin.")
        @Argument(help: "Email or id.") var user: String
        @Argument(help: "user or admin.") var role: AccountRole
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let updated = try await database.withDatabase { postgres in
                let record = try await UserLookup.find(user, on: postgres)
                if role != .admin { try await UserLookup.ensureAnotherAdmin(besides: record, on: postgres) }
                let updated = try await UserRepository.setRole(id: record.id, role: role, on: postgres)
                try await UserLookup.audit(
                    "user.set_role", updated, details: ["from": record.role.rawValue, "to": role.rawValue], on: postgres)
                return updated
            }
            Terminal.output("\(updated.email) is now \(updated.role.rawValue)\n")
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable an account: it cannot log in, and its refresh and access tokens stop working at once.")
        @Argument(help: "Email or id.") var user: String
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let updated = try await database.withDatabase { postgres in
                let record = try await UserLookup.find(user, on: postgres)
                try await UserLookup.ensureAnotherAdmin(besides: record, on: postgres)
                let updated = try await UserRepository.setDisabled(id: record.id, disabled: true, on: postgres)
                try await UserLookup.audit("user.disable", updated, on: postgres)
                return updated
            }
            Terminal.output("\(updated.email) is disabled; its sessions were revoked\n")
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled account.")
        @Argument(help: "Email or id.") var user: String
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let updated = try await database.withDatabase { postgres in
                let record = try await UserLookup.find(user, on: postgres)
                let updated = try await UserRepository.setDisabled(id: record.id, disabled: false, on: postgres)
                try await UserLookup.audit("user.enable", updated, on: postgres)
                return updated
            }
            Terminal.output("\(updated.email) is enabled\n")
        }
    }

    struct ResetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-password",
            abstract: "Give an account a generated one-time password (printed once) that must be changed at the next login.",
            discussion: "Its sessions are revoked. An admin never picks a user's password.")
        @Argument(help: "Email or id.") var user: String
        @OptionGroup var database: DatabaseOptions
        @Flag(name: .customLong("json"), help: "Print JSON on stdout instead of text.") var json = false

        struct Report: Encodable {
            var user: UserSummary
            var password: String
        }

        func run() async throws {
            let password = UserLookup.generatePassword()
            let updated = try await database.withDatabase { postgres in
                let record = try await UserLookup.find(user, on: postgres)
                let hash = try await PasswordHasher().hash(password)
                let updated = try await UserRepository.setPasswordHash(id: record.id, passwordHash: hash, mustChangePassword: true, on: postgres)
                try await UserLookup.audit("user.reset_password", updated, on: postgres)
                return updated
            }
            if json { return try Output.json(Report(user: UserSummary(updated), password: password)) }
            Terminal.output("one-time password for \(updated.email): \(password)\n")
            Terminal.warn("the password is shown only now; it must be changed at the next login; sessions were revoked")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete an account; refused while it owns projects unless --transfer-to or --delete-projects.")
        @Argument(help: "Email or id.") var user: String
        @Option(name: .customLong("transfer-to"), help: "Give the owned projects to this account (email or id).") var transferTo: String?
        @Flag(name: .customLong("delete-projects"), help: "Delete the owned projects with their images and files.") var deleteProjects = false
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var data: DataDirectoryOptions

        func validate() throws {
            if transferTo != nil && deleteProjects { throw ValidationError("give --transfer-to or --delete-projects, not both") }
            if deleteProjects { _ = try data.resolved() }
        }

        func run() async throws {
            let dataDirectory = deleteProjects ? try data.resolved() : nil
            let message = try await database.withDatabase { postgres in
                let record = try await UserLookup.find(user, on: postgres)
                try await UserLookup.ensureAnotherAdmin(besides: record, on: postgres)
                let owned = try await UserRepository.ownedProjectIDs(id: record.id, on: postgres)
                var note = ""
                if !owned.isEmpty {
                    if let transferTo {
                        let heir = try await UserLookup.find(transferTo, on: postgres)
                        guard heir.id != record.id else { throw CLIError.failed("cannot transfer the projects to the account being deleted") }
                        for project in owned { _ = try await ProjectRepository.transferOwnership(projectID: project, to: heir.id, on: postgres) }
                        note = ", \(owned.count) project(s) transferred to \(heir.email)"
                    } else if deleteProjects, let dataDirectory {
                        let store = try LocalObjectStore(root: URL(fileURLWithPath: dataDirectory, isDirectory: true))
                        var objects = 0
                        var removedFiles = 0
                        for project in owned {
                            let deletion = try await ProjectRepository.deleteWithFiles(id: project, files: store, actorID: nil, on: postgres)
                            objects += deletion.objects
                            removedFiles += deletion.removedFiles
                        }
                        let kept = objects - removedFiles
                        note =
                            ", \(owned.count) project(s) deleted (\(removedFiles) file(s) removed"
                            + (kept > 0 ? "; \(kept) shared, recent or not removable, left for segctl gc)" : ")")
                    } else {
                        throw CLIError.failed(
                            "\(record.email) owns \(owned.count) project(s); pass --transfer-to EMAIL or --delete-projects")
                    }
                }
                try await UserRepository.delete(id: record.id, on: postgres)
                try await UserLookup.audit(
                    "user.delete", record, details: ["projects": owned.count, "transferred": transferTo != nil, "projectsDeleted": deleteProjects],
                    on: postgres)
                return "deleted \(record.email)\(note)\n"
            }
            Terminal.output(message)
        }
    }
}

extension AccountRole: ExpressibleByArgument {}
