@_exported import PostgresTestSupport
import Testing

/// The suites that use the server run one test at a time: one of them restarts the server.
@Suite(.serialized) enum PostgresSuites {}
