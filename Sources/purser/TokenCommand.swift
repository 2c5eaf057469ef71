import AgentsProjection
import ArgumentParser
import Foundation
import PurserDomain
import PurserHTTP

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "API tokens for the HTTP API and the dashboard.",
        subcommands: [TokenCreate.self, TokenList.self]
    )
}

struct TokenCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a bearer token for one org and role; the token is printed once, only its hash is kept.",
        discussion: "Roles: viewer (reads), operator (also approves, rejects, takes over, replies), admin (also changes the agent). Prints {\"token\",\"id\",\"org\",\"role\",\"label\"}."
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "The organization the token is for.") var org: String
    @Option(help: "viewer, operator or admin.") var role: String
    @Option(help: "Who holds it; recorded as the actor of their actions (default: the user at the terminal).") var label: String?
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        do {
            try OrgIDGrammar.validate(org)
        } catch {
            throw ValidationError("--org: \(error.message)")
        }
        guard Role(rawValue: role) != nil else { throw ValidationError("--role must be viewer, operator or admin") }
    }

    func run() throws {
        try DocumentAccess.with(global, database) { try create(AccessTokenStore(documents: $0)) }
    }

    private func create(_ store: AccessTokenStore) throws {
        // Orgs that have an agent but no token yet count too, so `HAFF` is refused beside `haff`.
        let agentOrgs = (try? ReadModels.current(AgentsProjector.name, global).read { try AgentsQueries.agents($0, org: nil) })?.map(\.org) ?? []
        // Through a Result: a `catch where` on this typed throw crashes Swift 6.3's SIL verifier.
        let result: Result<(secret: String, token: AccessToken), HTTPServerError>
        do {
            result = .success(try store.create(org: org, role: Role(rawValue: role) ?? .viewer, label: label ?? humanActor(), knownOrgs: agentOrgs))
        } catch {
            result = .failure(error)
        }
        let secret: String, token: AccessToken
        switch result {
        case .success(let created):
            (secret, token) = created
        case .failure(let error):
            if error.code == .invalidOrg { throw ValidationError("--org: \(error.message)") }
            throw error
        }
        Output.line(JSONValue.from(["token": .string(secret), "id": .string(token.id), "org": .string(token.org),
                                    "role": .string(token.role.rawValue), "label": .string(token.label)]).serialized())
        Output.note("keep this token now: it is not stored and cannot be shown again")
    }
}

struct TokenList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "The tokens (ids, orgs, roles, labels; never the secrets).")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only this org's tokens.") var org: String?
    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let tokens = try DocumentAccess.with(global, database) { try AccessTokenStore(documents: $0).list() }
        for token in tokens where org == nil || token.org == org {
            Output.line(JSONValue.from(["id": .string(token.id), "org": .string(token.org), "role": .string(token.role.rawValue),
                                        "label": .string(token.label), "createdAt": .string(token.createdAt)]).serialized())
        }
    }
}
