import Foundation
import PackagePlugin

/// Generates `ReadModelCatalog.projectors` from the projector targets the `ReadModelCatalog`
/// target depends on (the `readModels` list in Package.swift), in that order, so the list of read
/// models is written once.
///
/// A projector target is one whose folder is under `projections/`; its projector is the type
/// named by its `<Name>Projector.swift` file, made with `init()`.
@main
struct ReadModelCatalogPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let projections = context.package.directoryURL.appending(path: "projections").standardizedFileURL.path + "/"
        var arguments: [String] = []
        for case .target(let dependency) in target.dependencies {
            guard let module = dependency as? SourceModuleTarget,
                  module.sourceFiles.contains(where: { $0.url.standardizedFileURL.path.hasPrefix(projections) }) else { continue }
            let files = module.sourceFiles(withSuffix: "Projector.swift").map { $0.url.lastPathComponent }
            guard files.count == 1, let file = files.first else {
                throw PluginError("\(module.name) under projections/ needs exactly one <Name>Projector.swift declaring <Name>Projector; found \(files)")
            }
            arguments.append(module.name + ":" + file.dropLast(".swift".count))
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "ReadModelCatalog+Projectors.swift")
        return [.buildCommand(
            displayName: "Generating the read model catalog (\(arguments.count) projectors)",
            executable: try context.tool(named: "ReadModelCatalogGenerator").url,
            arguments: [output.path] + arguments,
            inputFiles: [],
            outputFiles: [output]
        )]
    }
}

struct PluginError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
