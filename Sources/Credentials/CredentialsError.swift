import Foundation
import PurserCore

/// The codes of `CredentialsError`.
public enum CredentialsErrorCode: String, Sendable, Hashable {
    /// An org id that is empty, too long, or not made of letters, digits, `_`, `-`, `.`
    /// (or that is `.`/`..`): it would not name a single file inside the directory.
    case invalidOrg = "invalid_org"
    /// A credential name outside `[a-z0-9_]{1,64}`.
    case invalidName = "invalid_name"
    /// A value that is empty, not UTF-8 text, or larger than `CredentialStore.maximumValueBytes`.
    case invalidValue = "invalid_value"
    /// The master key is missing, not base64, or not 32 bytes.
    case invalidMasterKey = "invalid_master_key"
    /// A sealed file that does not open: the master key differs from the one that sealed it,
    /// or the file was changed, truncated, or copied from another org.
    case cannotDecrypt = "cannot_decrypt"
    /// A sealed file whose structure is not the one this build writes.
    case format
    /// A read, write, sync or rename failed.
    case io
}

/// The one error type of `Credentials`.
///
/// Messages name the org, the credential name and the file, never a value: an error may be
/// printed, logged or shown to an operator, and a secret must not travel with it.
public typealias CredentialsError = CodedError<CredentialsErrorCode>
