import Foundation
import HTTPTypes
import HummingbirdTesting
import HummingbirdWSClient
import Logging
import NIOPosix
import NIOWebSocket
import PostgresNIO
import SegAuth
import SegTestSupport
import Testing

@testable import SegHTTP
@testable import SegStorage

/// The realtime event socket, `/api/v1/events`, on a live server: origins, authentication, deadlines, and events
/// written to the database by another client (as another segserver process or segctl would) reaching the members
/// of the project, and only them. Serialized: each test runs a live server with its own listener connection, and the
/// whole test run shares one PostgreSQL with a bounded number of connections.
@Suite(.serialized, .timeLimit(.minutes(5))) struct EventsTests {
    static let allowedOrigin = "https://app.example.org"
    static let environment = ["SEG_WS_ALLOWED_ORIGINS": allowedOrigin]

    // MARK: Origin

    @Test func upgradesFromOtherOriginsAreRefusedWith403() async throws {
        try await withLiveTestApp(environment: Self.environment) { _, port in
            // MUT
            let refused = try await RawUpgrade.exchange(port: port, origin: "https://evil.example")
            let allowed = try await RawUpgrade.exchange(port: port, origin: "HTTPS://App.Example.org")
            let absent = try await RawUpgrade.exchange(port: port, origin: nil)
            let nullOrigin = try await RawUpgrade.exchange(port: port, origin: "null")
            let extensionOrigin = try await RawUpgrade.exchange(port: port, origin: "chrome-extension://abcdef")
            let library = try await RawUpgrade.exchange(port: port, origin: "ws://localhost")

            // validate: a page of another origin gets a problem, not a socket; the allowed one and non-browsers get one
            #expect(refused.hasPrefix("HTTP/1.1 403"), "\(refused)")
            #expect(refused.contains(#""code":"ORIGIN_NOT_ALLOWED""#))
            #expect(refused.lowercased().contains("content-type: application/problem+json"))
            #expect(allowed.hasPrefix("HTTP/1.1 101"), "\(allowed)")
            #expect(absent.hasPrefix("HTTP/1.1 101"), "\(absent)")
            #expect(nullOrigin.hasPrefix("HTTP/1.1 403"), "\(nullOrigin)")
            #expect(extensionOrigin.hasPrefix("HTTP/1.1 403"), "\(extensionOrigin)")
            // WebSocket client libraries (not browsers) may send a ws: origin
            #expect(library.hasPrefix("HTTP/1.1 101"), "\(library)")
        }
    }

    /// With no allowed origins, only non-browser clients and the pages segserver serves itself (same origin) connect.
    @Test func withNoAllowedOriginsOnlyNonBrowserClientsAndTheOwnOriginConnect() async throws {
        try await withLiveTestApp { _, port in
            let browser = try await RawUpgrade.exchange(port: port, origin: "http://localhost:\(port + 1)")
            let otherHost = try await RawUpgrade.exchange(port: port, origin: "http://127.0.0.1:\(port)")
            let own = try await RawUpgrade.exchange(port: port, origin: "http://localhost:\(port)")
            let script = try await RawUpgrade.exchange(port: port, origin: nil)
            #expect(browser.hasPrefix("HTTP/1.1 403"), "\(browser)")
            #expect(otherHost.hasPrefix("HTTP/1.1 403"), "\(otherHost)")
            #expect(own.hasPrefix("HTTP/1.1 101"), "\(own)")
            #expect(script.hasPrefix("HTTP/1.1 101"), "\(script)")
        }
    }

    @Test func theOwnOriginsOfAHostHeader() {
        #expect(
            WebSocketOriginGate.origins(ofHost: "SegHub.example.org") == [
                "http://seghub.example.org", "http://seghub.example.org:80", "https://seghub.example.org", "https://seghub.example.org:443",
            ])
        #expect(WebSocketOriginGate.origins(ofHost: "localhost:8080") == ["http://localhost:8080", "https://localhost:8080"])
        #expect(WebSocketOriginGate.origins(ofHost: "[::1]:443") == ["http://[::1]:443", "https://[::1]", "https://[::1]:443"])
        #expect(WebSocketOriginGate.origins(ofHost: "evil.example/x").isEmpty)
        #expect(!WebSocketOriginGate.allows("http://localhost:8080", in: [], host: "localhost:80"))
        #expect(WebSocketOriginGate.allows("http://localhost", in: [], host: "localhost:80"))
    }

    @Test func aPlainGetIsToldToUpgrade() async throws {
        try await withLiveTestApp { app, _ in
            let response = try await app.request(.get, "/api/v1/events")
            #expect(response.status == .upgradeRequired)
            #expect(response.problemCode == "UPGRADE_REQUIRED")
        }
    }

    // MARK: Authentication

    @Test func anAccessTokenMakesTheSocketReady() async throws {
        try await withLiveTestApp(environment: Self.environment) { app, port in
            let user = try await app.register()
            var headers = HTTPFields()
            headers[.origin] = Self.allowedOrigin
            let socket = TestEventSocket(port: port, headers: headers)

            // MUT
            let ready = try await socket.authenticate(user.accessToken)

            // validate
            #expect(ready["type"] as? String == "ready")
            #expect((ready["userId"] as? String).flatMap(UUID.init(uuidString:)) == user.id)
            #expect(ready["expiresAt"] is String)
            // the open socket is counted
            let scrape = try await app.request(.get, "/metrics")
            #expect(String(buffer: scrape.body).contains("seghub_websocket_connections 1.0"))
            // an application-level ping (browsers cannot send WebSocket pings) is answered
            try socket.send(json: ["type": "ping"])
            let type = try await socket.next()["type"] as? String
            #expect(type == "pong")
            await socket.close()
        }
    }

    enum BadToken: String, CaseIterable {
        case garbage, expired, refreshToken, otherKey
    }

    @Test(arguments: BadToken.allCases)
    func badTokensGetAnErrorAndAClose(_ kind: BadToken) async throws {
        try await withLiveTestApp { app, port in
            // setup
            let user = try await app.register()
            let token: String
            let expected: String
            switch kind {
            case .garbage:
                (token, expected) = ("not.a.token", "INVALID_TOKEN")
            case .expired:
                let past = try await TokenService(
                    keys: [JWTSigningKey(id: "default", secret: TestApp.secret)], activeKeyID: "default",
                    now: { Date().addingTimeInterval(-3600) })
                (token, expected) = (try await past.issue(userID: user.id, role: "user").token, "TOKEN_EXPIRED")
            case .refreshToken:
                (token, expected) = (user.refreshToken, "INVALID_TOKEN")
            case .otherKey:
                let other = try await TokenService(
                    keys: [JWTSigningKey(id: "default", secret: "another-secret-0123456789abcdef-012345")], activeKeyID: "default")
                (token, expected) = (try await other.issue(userID: user.id, role: "user").token, "INVALID_TOKEN")
            }
            let socket = TestEventSocket(port: port)

            // MUT
            let answer = try await socket.authenticate(token)

            // validate
            #expect(answer["type"] as? String == "error")
            #expect(answer["code"] as? String == expected)
            let close = try await socket.closeFrame()
            #expect(close?.closeCode == .unknown(4401))
        }
    }

    @Test func messagesBeforeAuthenticationAreRefused() async throws {
        try await withLiveTestApp { _, port in
            let early = TestEventSocket(port: port)
            try early.send(json: ["type": "ping"])
            let answer = try await early.next()
            #expect(answer["type"] as? String == "error")
            #expect(answer["code"] as? String == "UNAUTHENTICATED")
            let closeCode = try await early.closeFrame()?.closeCode
            #expect(closeCode == .unknown(4401))

            let garbage = TestEventSocket(port: port)
            garbage.send("hello")
            let code = try await garbage.next()["code"] as? String
            #expect(code == "BAD_MESSAGE")
            let garbageClose = try await garbage.closeFrame()?.closeCode
            #expect(garbageClose == .unknown(4400))
        }
    }

    @Test func oneAddressHoldsAtMostItsShareOfSocketsAndGetsPlacesBackWhenTheyClose() async throws {
        try await withLiveTestApp(environment: ["SEG_EVENTS_MAX_PER_ADDRESS": "2"]) { _, port in
            // setup: two sockets from this address, open (not yet authenticated)
            let first = try await RawUpgrade.open(port: port)
            let second = try await RawUpgrade.open(port: port)
            #expect(first.0.hasPrefix("HTTP/1.1 101") && second.0.hasPrefix("HTTP/1.1 101"))

            // MUT
            let third = try await RawUpgrade.exchange(port: port, origin: nil)

            // validate: refused with a problem; once one closes, a new one is let in
            #expect(third.hasPrefix("HTTP/1.1 429"), "\(third.prefix(80))")
            #expect(third.contains(#""code":"TOO_MANY_SOCKETS""#))
            close(first.1)
            var again = ""
            for _ in 0..<50 where !again.hasPrefix("HTTP/1.1 101") {
                again = try await RawUpgrade.exchange(port: port, origin: nil)
                if !again.hasPrefix("HTTP/1.1 101") { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(again.hasPrefix("HTTP/1.1 101"), "\(again.prefix(80))")
            close(second.1)
        }
    }

    @Test func oneAccountHoldsAtMostItsShareOfAuthenticatedSockets() async throws {
        try await withLiveTestApp(environment: ["SEG_EVENTS_MAX_PER_USER": "1"]) { app, port in
            // setup
            let user = try await app.register()
            let first = TestEventSocket(port: port)
            let ready = try await first.authenticate(user.accessToken)
            #expect(ready["type"] as? String == "ready")

            // MUT: a second socket of the same account
            let second = TestEventSocket(port: port)
            let answer = try await second.authenticate(user.accessToken)

            // validate: the second is told why and closed; the first keeps working
            #expect(answer["code"] as? String == "TOO_MANY_SOCKETS")
            let code = try await second.closeFrame()?.closeCode
            #expect(code == .unknown(4429))
            try first.send(json: ["type": "ping"])
            #expect(try await first.next()["type"] as? String == "pong")
            await first.close()
        }
    }

    @Test func aSocketThatNeverAuthenticatesIsClosed() async throws {
        try await withLiveTestApp { _, port in
            let socket = TestEventSocket(port: port)
            // Nothing is sent: the server gives up after its authentication timeout (5 s).
            let answer = try await socket.next(within: .seconds(30))
            #expect(answer["code"] as? String == "AUTH_TIMEOUT")
            let closeCode = try await socket.closeFrame()?.closeCode
            #expect(closeCode == .unknown(4408))
        }
    }

    @Test func aClientSendingTooFastIsClosed() async throws {
        try await withLiveTestApp { app, port in
            let user = try await app.register()
            let socket = try await Self.readySocket(port: port, as: user)
            // far beyond the burst of 20 and any refill (2 a second) while they are read
            for _ in 0..<200 { try socket.send(json: ["type": "ping"]) }
            let refusal = try await socket.next(ofType: "error")
            #expect(refusal["code"] as? String == "RATE_LIMITED")
            let closeCode = try await socket.closeFrame()?.closeCode
            #expect(closeCode == .unknown(4429))
        }
    }

    @Test func oversizedMessagesCloseTheSocket() async throws {
        try await withLiveTestApp { _, port in
            let socket = TestEventSocket(port: port)
            socket.send(String(repeating: "x", count: 64 << 10))
            let closeCode = try await socket.closeFrame()?.closeCode
            #expect(closeCode == .messageTooLarge)
        }
    }

    @Test func anExpiredTokenClosesTheSocketAtItsExpiry() async throws {
        try await withLiveTestApp { app, port in
            let user = try await app.register()
            let (socket, _) = try await Self.readyOnShortToken(for: user, port: port)

            // MUT: nothing refreshes the token
            let answer = try await socket.next(within: .seconds(30))

            // validate
            #expect(answer["type"] as? String == "error")
            #expect(answer["code"] as? String == "TOKEN_EXPIRED")
            let closeCode = try await socket.closeFrame()?.closeCode
            #expect(closeCode == .unknown(4401))
        }
    }

    @Test func aFreshTokenExtendsTheSocket() async throws {
        try await withLiveTestApp { app, port in
            // setup: a socket on a token that expires in 2 s, and a project with an image
            let user = try await app.register()
            let project = try await app.makeProject(owner: user)
            let image = try await insertImage(project: project, client: app.database)
            // MUT: a fresh token before the first expires (on a busy machine the short one may run out first: then a
            // longer short token is tried)
            var seconds = 2
            var extended: (socket: TestEventSocket, shortExpiry: Date, second: [String: Any])?
            while extended == nil {
                let (socket, shortExpiry) = try await Self.readyOnShortToken(for: user, port: port, seconds: seconds)
                let second = try await socket.authenticate(user.accessToken)
                if second["type"] as? String == "ready" {
                    extended = (socket, shortExpiry, second)
                } else {
                    try #require(second["code"] as? String == "TOKEN_EXPIRED" && seconds < 64, "unexpected answer \(second)")
                    await socket.close()
                    seconds *= 2
                }
            }
            let (socket, shortExpiry, second) = try #require(extended)
            let longExpiry = try #require((second["expiresAt"] as? String).flatMap(Self.date))
            #expect(longExpiry > shortExpiry)

            // validate: past the short token's expiry the socket still delivers events
            while Date() < shortExpiry.addingTimeInterval(1) { try await Task.sleep(for: .milliseconds(200)) }
            try await app.setImageStatus(image, "queued")
            let event = try await socket.next()
            #expect(event["type"] as? String == "image.status")
            #expect(event["status"] as? String == "queued")
            await socket.close()
        }
    }

    @Test func aSocketOfAnotherUserCannotBeTakenOver() async throws {
        try await withLiveTestApp { app, port in
            let alice = try await app.register()
            let bob = try await app.register()
            let socket = try await Self.readySocket(port: port, as: alice)
            let answer = try await socket.authenticate(bob.accessToken)
            #expect(answer["code"] as? String == "USER_MISMATCH")
            let closeCode = try await socket.closeFrame()?.closeCode
            #expect(closeCode == .unknown(4401))
        }
    }

    @Test func revokingTheAccountsTokensClosesItsSockets() async throws {
        try await withLiveTestApp { app, port in
            let user = try await app.register()
            let socket = try await Self.readySocket(port: port, as: user)

            // MUT: what a password change or `segctl` does, from another client
            try await app.database.query("UPDATE users SET tokens_valid_after = now() + interval '2 seconds' WHERE id = \(user.id)")

            // validate
            let answer = try await socket.next()
            #expect(answer["code"] as? String == "TOKEN_REVOKED")
            let closeCode = try await socket.closeFrame()?.closeCode
            #expect(closeCode == .unknown(4401))
        }
    }

    @Test func loggingOutClosesTheSessionsSocketsAtOnceAndNoOthers() async throws {
        try await withLiveTestApp { app, port in
            // setup: one account, two sessions, a socket on each
            let user = try await app.register()
            let login = try await app.request(.post, "/api/v1/auth/login", json: ["email": user.email, "password": user.password])
            var other = user
            other.accessToken = try login.decode(TestApp.Session.self).accessToken
            let ending = try await Self.readySocket(port: port, as: user)
            let staying = try await Self.readySocket(port: port, as: other)

            // MUT: the first session signs out
            let logout = try await app.request(.post, "/api/v1/auth/logout", json: ["refreshToken": user.refreshToken])
            #expect(logout.status == .noContent)

            // validate: its socket is told and closed; the other session's socket still answers
            let answer = try await ending.next()
            #expect(answer["code"] as? String == "TOKEN_REVOKED")
            let closeCode = try await ending.closeFrame()?.closeCode
            #expect(closeCode == .unknown(4401))
            try staying.send(json: ["type": "ping"])
            #expect(try await staying.next()["type"] as? String == "pong")
            await staying.close()
        }
    }

    // MARK: Events

    @Test func anImageStatusWrittenByAnotherClientReachesTheSocket() async throws {
        try await withLiveTestApp { app, port in
            // setup
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let image = try await insertImage(project: project, client: app.database)
            let socket = try await Self.readySocket(port: port, as: owner)

            // MUT: `app.database` is a PostgresClient of the test's own, not the application's: the change comes from
            // outside the server process's code, as a worker of another segserver or segctl would write it.
            try await app.setImageStatus(image, "segmented")

            // validate
            let event = try await socket.next()
            #expect(event["type"] as? String == "image.status")
            #expect(Self.uuid(event["projectId"]) == project)
            #expect(Self.uuid(event["imageId"]) == image)
            #expect(event["status"] as? String == "segmented")
            let at = try #require((event["at"] as? String).flatMap(Self.date))
            #expect(abs(at.timeIntervalSinceNow) < 3600)
            await socket.close()
        }
    }

    @Test func usersReceiveNothingForProjectsTheyCannotSee() async throws {
        try await withLiveTestApp { app, port in
            // setup: Alice owns both projects; Bob is a viewer of the second only
            let alice = try await app.register()
            let bob = try await app.register()
            let hidden = try await app.makeProject(owner: alice)
            let shared = try await app.makeProject(owner: alice)
            try await app.addMember(bob, to: shared, role: .viewer)
            let hiddenImage = try await insertImage(project: hidden, client: app.database)
            let sharedImage = try await insertImage(project: shared, client: app.database)
            let bobs = try await Self.readySocket(port: port, as: bob)
            let alices = try await Self.readySocket(port: port, as: alice)

            // MUT: a change Bob may not see, then one he may
            try await app.setImageStatus(hiddenImage, "failed")
            try await app.setImageStatus(sharedImage, "failed")

            // validate: Bob's first message is the shared project's event; Alice gets both, in order
            let bobsFirst = try await bobs.next(ofType: "image.status")
            #expect(Self.uuid(bobsFirst["imageId"]) == sharedImage)
            #expect(Self.uuid(bobsFirst["projectId"]) == shared)
            let alicesFirst = try await alices.next(ofType: "image.status")
            let alicesSecond = try await alices.next(ofType: "image.status")
            #expect(Self.uuid(alicesFirst["imageId"]) == hiddenImage)
            #expect(Self.uuid(alicesSecond["imageId"]) == sharedImage)
            await bobs.close()
            await alices.close()
        }
    }

    @Test func membershipChangesApplyFromTheNextEvent() async throws {
        try await withLiveTestApp { app, port in
            // setup
            let alice = try await app.register()
            let bob = try await app.register()
            let project = try await app.makeProject(owner: alice)
            let marker = try await app.makeProject(owner: bob)
            let image = try await insertImage(project: project, client: app.database)
            let markerImage = try await insertImage(project: marker, client: app.database)
            let socket = try await Self.readySocket(port: port, as: bob)
            // an event before Bob joins: cached as "Bob is not a member" by the hub
            try await app.setImageStatus(image, "queued")
            try await app.setImageStatus(markerImage, "queued")
            #expect(Self.uuid(try await socket.next(ofType: "image.status")["imageId"]) == markerImage)

            // MUT 1: Bob joins (through the API, as an owner would add him)
            try await app.addMember(bob, role: "viewer", to: project, as: alice)
            try await app.setImageStatus(image, "processing")

            // validate 1
            let joined = try await socket.next(ofType: "image.status")
            #expect(Self.uuid(joined["imageId"]) == image)
            #expect(joined["status"] as? String == "processing")

            // MUT 2: Bob is removed
            let removal = try await app.request(.delete, "/api/v1/projects/\(project)/members/\(bob.id)", as: alice)
            #expect(removal.status == .noContent)
            try await app.setImageStatus(image, "segmented")
            try await app.setImageStatus(markerImage, "segmented")

            // validate 2: the next event Bob gets is his own project's
            let after = try await socket.next(ofType: "image.status")
            #expect(Self.uuid(after["imageId"]) == markerImage)
            await socket.close()
        }
    }

    @Test func exportStatusReachesMembers() async throws {
        try await withLiveTestApp { app, port in
            // setup
            let owner = try await app.register()
            let viewer = try await app.register()
            let project = try await app.makeProject(owner: owner)
            try await app.addMember(viewer, to: project, role: .viewer)
            let socket = try await Self.readySocket(port: port, as: viewer)
            let database = Database(client: app.database, logger: TestApp.logger)

            // MUT: what the export worker does, from another client
            let export = try await ExportRepository.create(
                projectID: project, userID: owner.id, formats: [.coco], options: ExportOptions(), jobID: nil, on: database)
            _ = try await ExportRepository.markRunning(id: export.id, on: database)
            _ = try await ExportRepository.updateProgress(id: export.id, progress: 0.5, on: database)
            _ = try await ExportRepository.markFailed(id: export.id, error: "disk full", on: database)

            // validate
            var seen: [(String, Double)] = []
            for _ in 0..<4 {
                let event = try await socket.next(ofType: "export.status")
                #expect(Self.uuid(event["exportId"]) == export.id)
                #expect(Self.uuid(event["projectId"]) == project)
                seen.append((event["status"] as? String ?? "", event["progress"] as? Double ?? -1))
            }
            #expect(seen.map(\.0) == ["queued", "running", "running", "failed"])
            #expect(seen.map(\.1) == [0, 0, 0.5, 0.5])
            await socket.close()
        }
    }

    @Test func queueStatsFollowTheProjectsJobs() async throws {
        try await withLiveTestApp(environment: ["SEG_WORKERS": "3"]) { app, port in
            // setup: three images; no workers run in this process (API role), so the jobs stay where the test puts them
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let other = try await app.makeProject(owner: owner)
            var images: [UUID] = []
            for _ in 0..<3 { images.append(try await insertImage(project: project, client: app.database)) }
            let otherImage = try await insertImage(project: other, client: app.database)
            let socket = try await Self.readySocket(port: port, as: owner)

            // MUT 1: queue the three through the API (one transaction: statuses and jobs)
            let queued = try await app.request(.post, "/api/v1/projects/\(project)/segmentations", as: owner, json: ["imageIds": images])
            #expect(queued.status == .accepted)

            // validate 1: a failed job in another project does not count
            try await app.database.query(
                """
                INSERT INTO jobs (kind, project_id, image_id, state) VALUES ('segment', \(other), \(otherImage), 'failed')
                """)
            let first = try await socket.next(ofType: "queue.stats")
            #expect(Self.uuid(first["projectId"]) == project)
            #expect(Self.counts(first) == [3, 0, 0, 3])

            // MUT 2: a worker elsewhere claims one and starts it, then it fails for good
            let queue = JobQueue()
            let database = Database(client: app.database, logger: TestApp.logger)
            let claimed = try #require(try await queue.claim(worker: "elsewhere", kinds: [.segment], on: database))
            let started = try #require(claimed.imageID)
            try await app.setImageStatus(started, "processing")
            let running = try await socket.next(ofType: "queue.stats") { ($0["processing"] as? Int) == 1 }
            #expect(Self.counts(running) == [2, 1, 0, 3])
            _ = try await queue.fail(claimed.lease, error: "cannot decode", permanent: true, on: database)
            let failed = try await socket.next(ofType: "queue.stats") { ($0["failed"] as? Int) == 1 }
            #expect(Self.counts(failed) == [2, 0, 1, 3])
            await socket.close()
        }
    }

    @Test func theListenerReconnectsAfterItsConnectionIsLost() async throws {
        try await withLiveTestApp { app, port in
            // setup
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let image = try await insertImage(project: project, client: app.database)
            let socket = try await Self.readySocket(port: port, as: owner)
            let before = try #require(try await app.listenerPIDs().first)

            // MUT: the database drops the listener's connection (what a restart or a network cut does to it)
            try await app.database.query("SELECT pg_terminate_backend(\(Int32(before)))")

            // validate: events flow again (changes made while nobody listened are lost, so keep changing until one
            // arrives), through a new connection
            var status = "queued"
            var delivered: [String: Any]?
            let deadline = ContinuousClock.now + .seconds(60)
            while delivered == nil, ContinuousClock.now < deadline {
                status = status == "queued" ? "new" : "queued"
                try await app.setImageStatus(image, status)
                delivered = try? await socket.next(ofType: "image.status", within: .milliseconds(500))
            }
            let event = try #require(delivered)
            #expect(Self.uuid(event["imageId"]) == image)
            let after = try await app.listenerPIDs()
            #expect(!after.contains(before))
            #expect(after.count == 1)
            let health = try await app.request(.get, "/api/health")
            struct Health: Decodable {
                struct Check: Decodable { var status: String }
                var checks: [String: Check]
            }
            #expect(try health.decode(Health.self).checks["websocket"]?.status == "ok")
            await socket.close()
        }
    }

    // MARK: Helpers

    /// A socket on the live server at `port` that `user` authenticated; the server must have answered `ready`.
    static func readySocket(
        port: Int, as user: TestUser, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> TestEventSocket {
        let socket = TestEventSocket(port: port)
        let answer = try await socket.authenticate(user.accessToken)
        try #require(answer["type"] as? String == "ready", "answer \(answer)", sourceLocation: sourceLocation)
        return socket
    }

    static func shortToken(for user: TestUser, seconds: Int) async throws -> String {
        let tokens = try await TokenService(
            keys: [JWTSigningKey(id: "default", secret: TestApp.secret)], activeKeyID: "default", lifetime: .seconds(seconds))
        return try await tokens.issue(userID: user.id, role: "user").token
    }

    /// A socket authenticated with a token that expires in a few seconds, and that expiry. `exp` has whole seconds
    /// and a busy machine may take a while to answer, so a token that expired before the server saw it is not a
    /// failure: the lifetime doubles and a new socket tries again.
    static func readyOnShortToken(for user: TestUser, port: Int, seconds initial: Int = 2) async throws -> (TestEventSocket, Date) {
        var seconds = initial
        while true {
            let socket = TestEventSocket(port: port)
            let answer = try await socket.authenticate(try await shortToken(for: user, seconds: seconds))
            if answer["type"] as? String == "ready" {
                return (socket, try #require((answer["expiresAt"] as? String).flatMap(Self.date)))
            }
            try #require(answer["code"] as? String == "TOKEN_EXPIRED" && seconds < 64, "unexpected answer \(answer)")
            await socket.close()
            seconds *= 2
        }
    }

    static func uuid(_ value: Any?) -> UUID? {
        (value as? String).flatMap(UUID.init(uuidString:))
    }

    static func date(_ text: String) -> Date? {
        try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
    }

    /// queued, processing, failed, workers.
    static func counts(_ stats: [String: Any]) -> [Int] {
        ["queued", "processing", "failed", "workers"].map { stats[$0] as? Int ?? -1 }
    }
}

extension TestApp {
    /// Sets an image's status with the test's own database client.
    func setImageStatus(_ image: UUID, _ status: String) async throws {
        try await database.query("UPDATE images SET status = \(status), updated_at = now() WHERE id = \(image)")
    }

    /// The backends listening for events on this test's database.
    func listenerPIDs() async throws -> [Int] {
        let rows = try await database.query(
            """
            SELECT pid::int8 FROM pg_stat_activity
            WHERE datname = current_database() AND query ILIKE 'LISTEN%seghub_events%' AND pid <> pg_backend_pid()
            """)
        var pids: [Int] = []
        for try await pid in rows.decode(Int.self) { pids.append(pid) }
        return pids
    }
}

/// A WebSocket handshake on a plain socket, to read the status line a WebSocket client library hides.
enum RawUpgrade {
    /// Sends the upgrade request with `origin` (none when nil) and returns what the server answered: the head of a
    /// 101, or a whole refusal (the server closes after it).
    static func exchange(port: Int, origin: String?) async throws -> String {
        let (answer, descriptor) = try await open(port: port, origin: origin)
        close(descriptor)
        return answer
    }

    /// Like ``exchange(port:origin:)``, but leaves the connection open: the caller closes the descriptor.
    static func open(port: Int, origin: String? = nil) async throws -> (String, Int32) {
        try await RawHTTP.onOwnThread {
            let descriptor = try RawHTTP.connect(port: port)
            var request = """
                GET /api/v1/events HTTP/1.1\r
                Host: localhost:\(port)\r
                Upgrade: websocket\r
                Connection: Upgrade\r
                Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r
                Sec-WebSocket-Version: 13\r

                """
            if let origin { request += "Origin: \(origin)\r\n" }
            request += "\r\n"
            RawHTTP.send(Array(request.utf8), to: descriptor)
            return (RawHTTP.receive(from: descriptor) { $0.hasPrefix("HTTP/1.1 101") && $0.contains("\r\n\r\n") }, descriptor)
        }
    }
}
