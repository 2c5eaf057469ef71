import Projection

/// The read models of this build: the one list the pipeline, the command line, the server, the
/// bench and the tests read, in the order `purser projections status` lists them.
///
/// The list itself is generated at build time from `readModels` in Package.swift (one line per
/// read model), so adding a read model is its folder under `projections/` plus that line
/// (docs/EXTENDING.md).
public enum ReadModelCatalog {
    /// Every projector, one per read model.
    public static var projectors: [any Projector] { generated }
}
