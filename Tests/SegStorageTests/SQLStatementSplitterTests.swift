import Testing

@testable import SegStorage

@Suite(.timeLimit(.minutes(5))) struct SQLStatementSplitterTests {
    @Test func splitsOnSemicolonsOutsideQuotesAndComments() {
        let sql = """
            -- a comment; not a statement
            SET LOCAL lock_timeout = '5s';
            CREATE TABLE t (a text DEFAULT 'x;y', "b;c" int); /* block; comment */
            CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;
            SELECT $1
            """
        let statements = SQLStatementSplitter.split(sql)
        #expect(statements.count == 4)
        #expect(statements[0].hasSuffix("SET LOCAL lock_timeout = '5s'"))
        #expect(statements[1] == "CREATE TABLE t (a text DEFAULT 'x;y', \"b;c\" int)")
        #expect(statements[2].hasPrefix("/* block; comment */"))
        #expect(statements[2].hasSuffix("$body$ SELECT 1; $body$ LANGUAGE sql"))
        #expect(statements[3] == "SELECT $1")
    }

    @Test func dropsEmptyAndCommentOnlyPieces() {
        #expect(SQLStatementSplitter.split(";;  \n-- only a comment\n;").isEmpty)
    }

    @Test func bundledMigrationsAreNumberedInOrder() throws {
        let migrations = try Migration.bundled()
        #expect(migrations.map(\.version) == Array(1...migrations.count))
        #expect(migrations.first?.name == "create_users")
        #expect(migrations.allSatisfy { $0.checksum.count == 64 })
    }

    @Test func rejectsMisnamedAndDuplicateMigrations() {
        #expect(throws: StorageError.self) { try Migration(fileName: "1_users.sql", sql: "") }
        #expect(throws: StorageError.self) { try Migration(fileName: "0001.sql", sql: "") }
        #expect(throws: StorageError.self) {
            try Migration.ordered([Migration(version: 1, name: "a", sql: ""), Migration(version: 1, name: "b", sql: "")])
        }
    }
}
