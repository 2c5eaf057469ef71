import Foundation
import PurserCore

/// The codes of `ChannelError`: stable identifiers for programs; `message` is for people.
public enum ChannelErrorCode: String, Sendable, Hashable, Codable, CaseIterable {
    /// The byte source failed (I/O error, closed descriptor).
    case readFailed = "input.read_failed"
    /// The input matches none of the known formats; pass an explicit format.
    case unknownFormat = "input.unknown_format"
    /// A line, body or mail is larger than the configured limit.
    case tooLarge = "input.too_large"
    /// Bytes that are not valid JSON (or not UTF-8).
    case invalidJSON = "json.invalid"
    /// JSON that parses but has the wrong shape (missing or mistyped fields).
    case invalidMessage = "message.invalid"
    /// A `channel` value outside `whatsapp`, `email`, `webchat`, `sms`, `instagram_dm`.
    case unknownChannel = "message.unknown_channel"
    /// A `receivedAt` or provider timestamp that cannot be read.
    case invalidTimestamp = "message.invalid_timestamp"
    /// A well-formed native payload that carries no message to answer (e.g. an unrelated
    /// webhook field, an empty body).
    case notAMessage = "message.not_a_message"
    /// A native message of a kind the adapters do not turn into text (reactions, unsupported).
    case unsupportedMessageType = "message.unsupported_type"
    /// A WhatsApp Cloud API body that is not shaped like a webhook.
    case invalidWebhook = "whatsapp.invalid_webhook"
    /// A Twilio body that is not a usable `application/x-www-form-urlencoded` message.
    case invalidForm = "twilio.invalid_form"
    /// A mail that is not an RFC 5322 message or lacks the addresses it needs.
    case invalidEmail = "email.invalid"
    /// A webhook request without the signature header the channel requires.
    case missingSignature = "signature.missing"
    /// A signature header that is not in the channel's format.
    case malformedSignature = "signature.malformed"
    /// A signature that does not match the body and secret.
    case signatureMismatch = "signature.mismatch"
}

/// The one error type of `Channels`.
///
/// Thrown only for failures of the surroundings (a file that cannot be read, a webhook signature
/// that does not match). Bad input is never thrown: it becomes a `Rejection` carrying the same
/// `Code`, so one bad line or mail never stops the rest of a stream.
public typealias ChannelError = CodedError<ChannelErrorCode>
