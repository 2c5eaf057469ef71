import Foundation
import GRDB
import Projection
import ReadModelCatalog
import Testing

/// The catalog of read models against the folders under projections/, and each model's schema.
@Suite struct CatalogTests {
    static let projections = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("projections", isDirectory: true)
    static let names = ReadModelCatalog.projectors.map(\.name)

    static func projector(_ name: String) throws -> any Projector {
        try #require(ReadModelCatalog.projectors.first { $0.name == name })
    }

    @Test func everyFolderUnderProjectionsIsOneReadModelOfTheCatalog() throws {
        let folders = try FileManager.default.contentsOfDirectory(at: Self.projections, includingPropertiesForKeys: [.isDirectoryKey])
            .filter { (try? $0.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true }
            .map(\.lastPathComponent)
        #expect(Set(folders) == Set(Self.names), "a folder under projections/ without its line in Package.swift's readModels, or the reverse")
        #expect(Set(Self.names).count == Self.names.count, "two read models with one name")
    }

    @Test("the SQL a projector runs is its folder's schema.sql, byte for byte", arguments: names)
    func schemaIsTheFoldersFile(name: String) throws {
        let file = try Data(contentsOf: Self.projections.appendingPathComponent("\(name)/schema.sql"))
        #expect(Array(try Self.projector(name).schemaSQL.utf8) == Array(file))
    }

    @Test("each schema creates its tables on an empty database, every one with the org in each row", arguments: names)
    func schemaCreatesOrgScopedTables(name: String) throws {
        let db = try DatabaseQueue()
        let projector = try Self.projector(name)
        try db.write { try $0.execute(sql: projector.schemaSQL) }
        let tables = try db.read { try String.fetchAll($0, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") }
        #expect(!tables.isEmpty)
        for table in tables {
            let org = try db.read { try Row.fetchOne($0, sql: "SELECT \"notnull\" FROM pragma_table_info(?) WHERE name = 'org'", arguments: [table]) }
            #expect(org?["notnull"] == 1, "\(name).\(table) has no NOT NULL org column")
        }
    }
}
