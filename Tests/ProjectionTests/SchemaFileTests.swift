import AgentsProjection
import AuditProjection
import CRMProjection
import Foundation
import OutboxProjection
import Projection
import SessionsProjection
import SpendProjection
import Testing

/// The SQL each projector runs is its target's schema.sql, byte for byte.
@Suite struct SchemaFileTests {
    static let projectors: [any Projector] = [
        AgentsProjector(), CRMProjector(), SessionsProjector(), SpendProjector(), AuditProjector(), OutboxProjector(),
    ]

    @Test(arguments: ["agents", "crm", "sessions", "spend", "audit", "outbox"])
    func embeddedSchemaEqualsFile(name: String) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = try String(contentsOf: root.appendingPathComponent("projections/\(name)/schema.sql"), encoding: .utf8)
        let projector = try #require(Self.projectors.first { $0.name == name })
        #expect(projector.schemaSQL + "\n" == file, "run scripts/embed-schema.sh after editing projections/\(name)/schema.sql")
    }
}
