// Everything the core can refuse, as one Swift enum the app handles with `switch`: each case asks for a different
// reaction (show errors beside fields, ask to unlock again, offer to retry, tell support).
import DoorstepCore

public enum DoorstepClientError: Error, Equatable {
    /// The record may not be saved; every problem names its field (a dotted path such as `systolic`).
    case validation([FieldError])
    /// The household, visit or screening asked for does not exist on this device.
    case notFound(String)
    /// The store key does not open this store: ask the user to unlock again, never retry with the same key.
    case wrongKey
    /// The phone's storage failed (full disk, corrupt file); the detail is for support.
    case storage(String)
    /// The server could not be reached or the connection broke; nothing is lost.
    case network(String, retryable: Bool)
    /// The server refused (`code` as in the HTTP API: `wrong_password`, `token_revoked`, `out_of_scope`, …).
    case refused(code: String, message: String, messageZh: String, retryable: Bool)
    /// The server speaks another protocol version: ask the user to update the app.
    case updateRequired(message: String, messageZh: String)
    /// The attachment was refused and nothing was stored: `code` names the check (`too_large`, `quota_exceeded`, …),
    /// `limit` its bound (0 if none).
    case attachmentRefused(code: String, limit: UInt64, detail: String, detailZh: String)
    /// The server's certificate was refused, or its address is plain `http://` off this phone; nothing was sent.
    /// `code` names the cause (`certificate_untrusted`, `host_mismatch`, `pin_mismatch`, `insecure_http`, …).
    case untrusted(code: String, message: String, messageZh: String)
    /// The device has not signed in to a server yet: show the login screen.
    case notSignedIn
    /// Anything else inside the core; the detail is for support.
    case `internal`(String)

    /// The fields with a problem, for a validation failure; empty otherwise.
    public var fields: [String] {
        if case .validation(let errors) = self { return errors.map { $0.field } }
        return []
    }

    /// Maps the generated error; the one place that knows the generated names.
    static func from(_ error: Error) -> DoorstepClientError {
        guard let core = error as? DoorstepCore.DoorstepError else { return .internal(String(describing: error)) }
        switch core {
        case .Validation(let errors): return .validation(errors)
        case .NotFound(let what): return .notFound(what)
        case .WrongKey: return .wrongKey
        case .Storage(let message): return .storage(message)
        case .Internal(let message): return .internal(message)
        case .Network(let message, let retryable): return .network(message, retryable: retryable)
        case .Refused(let code, let message, let messageZh, let retryable):
            return .refused(code: code, message: message, messageZh: messageZh, retryable: retryable)
        case .UpdateRequired(let message, let messageZh): return .updateRequired(message: message, messageZh: messageZh)
        case .AttachmentRefused(let code, let limit, let detail, let detailZh):
            return .attachmentRefused(code: code, limit: limit, detail: detail, detailZh: detailZh)
        case .NotSignedIn: return .notSignedIn
        case .Untrusted(let code, let message, let messageZh):
            return .untrusted(code: code, message: message, messageZh: messageZh)
        @unknown default: return .internal(String(describing: core))
        }
    }
}
