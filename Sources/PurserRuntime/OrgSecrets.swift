import Credentials
import Foundation
import LLM
import Logging
import PurserCore

/// Per-org secrets from the credentials store (`purser credentials set`), each used only for its
/// org, with the environment's server-wide values as the fallback.
///
/// The store is the runtime's document store: the data directory's files on the embedded store,
/// `purser_documents` rows when the nodes share PostgreSQL, so a secret set from any node is read
/// by every node. The master key stays on the node (`MasterKey.load`); it is loaded only once a
/// sealed credential exists, so a server without credentials creates no key.
///
/// Every read blocks (a file or a query): call `value` and `provider` off the cooperative pool
/// (`BlockingIO.run`).
public struct OrgSecrets: Sendable {
    private let documents: any DocumentStore
    private let dataDirectory: String
    private let environment: [String: String]
    private let opened: Locked<CredentialStore?>
    let logger: Logger

    /// The secrets in `documents`; the master key is looked up in `environment` or under
    /// `dataDirectory/credentials`.
    public init(documents: any DocumentStore, dataDirectory: String,
                environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger) {
        self.documents = documents
        self.dataDirectory = dataDirectory
        self.environment = environment
        self.logger = logger
        opened = Locked(nil)
    }

    /// The data directory's own credential files (the embedded store).
    public init(dataDirectory: String, environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger) {
        self.init(documents: FileDocumentStore(root: dataDirectory), dataDirectory: dataDirectory, environment: environment, logger: logger)
    }

    /// The org's secret `name`, nil when it has none (or the store cannot be read, which is logged).
    public func value(_ org: String?, _ name: String) -> String? {
        guard let org else { return nil }
        do {
            guard let store = try store() else { return nil }
            return try store.get(org: org, name: name)
        } catch {
            logger.error("credentials of \(org): \(error)")
            return nil
        }
    }

    /// The credential store, opened (its master key loaded) the first time a sealed credential
    /// is found; nil while there is none.
    private func store() throws -> CredentialStore? {
        if let store = opened.withLock({ $0 }) { return store }
        guard try anySealed() else { return nil }
        let store = try CredentialStore.open(documents: documents, dataDirectory: dataDirectory, environment: environment, logger: logger)
        return opened.withLock { current in
            if let first = current { return first }
            current = store
            return store
        }
    }

    /// Whether any sealed credential may exist: for files, the credentials directory (a walk of
    /// the data directory on every lookup would cost more than the lookup); for rows, one query.
    private func anySealed() throws -> Bool {
        if documents is FileDocumentStore {
            return FileManager.default.fileExists(atPath: dataDirectory + "/credentials")
        }
        return try !documents.list(prefix: CredentialStore.documentPrefix).isEmpty
    }

    /// The org's own model provider: `openrouter_api_key`, or `llm_base_url` (+ `llm_api_key`).
    public func provider(for org: String, prices: PriceTable) -> (any LLMProvider)? {
        if let base = value(org, "llm_base_url") {
            return OpenAICompatibleProvider(configuration: .compatible(baseURL: base, apiKey: value(org, "llm_api_key")), priceTable: prices, logger: logger)
        }
        if let key = value(org, "openrouter_api_key") {
            return OpenAICompatibleProvider(configuration: .openRouter(apiKey: key), priceTable: prices, logger: logger)
        }
        return nil
    }
}
