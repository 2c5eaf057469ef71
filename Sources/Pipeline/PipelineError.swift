import Foundation
import PurserCore

/// The codes of `PipelineError`.
public enum PipelineErrorCode: String, Sendable, Hashable, CaseIterable {
    /// The read models could not be opened or caught up.
    case readModelFailed = "read_model_failed"
    /// Appending to the event log failed; nothing of the step was acknowledged.
    case appendFailed = "append_failed"
    /// No approval, session or agent with that id in the org.
    case notFound = "not_found"
    /// The approval was already decided (or expired); the caller lost a race or repeats itself.
    case alreadyDecided = "already_decided"
    /// The action does not fit the session's state (releasing a session nobody took over).
    case invalidState = "invalid_state"
    /// The request is malformed (an edit that does not fit the held call).
    case invalidInput = "invalid_input"
}

/// The one error type of `Pipeline`: a stable code, a message a person can act on, the cause.
public typealias PipelineError = CodedError<PipelineErrorCode>
