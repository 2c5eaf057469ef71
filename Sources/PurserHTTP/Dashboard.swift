/// The operator dashboard served at `/`: plain HTML, CSS and JavaScript, no build step. The files
/// are `Dashboard/` in this target, compiled into the module as resources (Package.swift), so the
/// binary serves them from wherever it runs.
public enum DashboardAssets {
    /// `Dashboard/index.html`, served at `GET /`.
    public static let indexHTML = String(decoding: PackageResources.index_html, as: UTF8.self)
    /// `Dashboard/app.js`, served at `GET /app.js`.
    public static let appJS = String(decoding: PackageResources.app_js, as: UTF8.self)
    /// `Dashboard/app.css`, served at `GET /app.css`.
    public static let appCSS = String(decoding: PackageResources.app_css, as: UTF8.self)
}
