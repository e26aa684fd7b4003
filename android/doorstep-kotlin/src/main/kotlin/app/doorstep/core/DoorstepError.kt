package app.doorstep.core

import uniffi.doorstep_core.DoorstepException

/**
 * Everything the core can refuse, as one sealed hierarchy the app handles with `when`: each case asks for a
 * different reaction (show errors beside fields, ask to unlock again, offer to retry, tell support).
 */
sealed class DoorstepError(message: String, cause: Throwable? = null) : Exception(message, cause) {
    /** The record may not be saved; every problem names its field (a dotted path such as `systolic`). */
    class Validation(val errors: List<FieldError>, cause: Throwable? = null) :
        DoorstepError("invalid: " + errors.joinToString("; ") { "${it.field}: ${it.messageEn}" }, cause) {
        /** The fields that have a problem, in the order the core reported them. */
        val fields: List<String> get() = errors.map { it.field }

        /** The problems of one field (empty when the field is fine). */
        fun errorsFor(field: String): List<FieldError> = errors.filter { it.field == field }
    }

    /** The household, visit or screening asked for does not exist on this device. */
    class NotFound(val what: String, cause: Throwable? = null) : DoorstepError("not found: $what", cause)

    /** The store key does not open this store: ask the user to unlock again, never retry with the same key. */
    class WrongKey(cause: Throwable? = null) : DoorstepError("the store could not be opened with this key", cause)

    /** The phone's storage failed (full disk, corrupt file); `detail` is for support. */
    class Storage(val detail: String, cause: Throwable? = null) : DoorstepError("storage: $detail", cause)

    /** The server could not be reached or the connection broke; nothing is lost. [retryable]: try again later. */
    class Network(val detail: String, val retryable: Boolean, cause: Throwable? = null) :
        DoorstepError("network: $detail", cause)

    /**
     * The server refused (`code` as in the HTTP API: `wrong_password`, `token_revoked`, `out_of_scope`, …) and
     * stored nothing of the request; show [detail] or [messageZh].
     */
    class Refused(
        val code: String,
        val detail: String,
        val messageZh: String,
        val retryable: Boolean,
        cause: Throwable? = null,
    ) : DoorstepError("refused ($code): $detail", cause)

    /** The server speaks another protocol version: ask the user to update the app. */
    class UpdateRequired(val detail: String, val messageZh: String, cause: Throwable? = null) :
        DoorstepError("update required: $detail", cause)

    /**
     * The attachment was refused and nothing was stored: [code] names the check (`too_large`, `quota_exceeded`,
     * `too_many`, `media_type`, `content_mismatch`, `caption_too_long`, `empty`), [limit] its bound (0 if none).
     */
    class AttachmentRefused(
        val code: String,
        val limit: Long,
        val detail: String,
        val detailZh: String,
        cause: Throwable? = null,
    ) : DoorstepError("attachment refused ($code): $detail", cause)

    /**
     * The server's certificate was refused, or its address is plain `http://` off this phone; nothing was sent.
     * [code] names the cause (`certificate_untrusted`, `certificate_expired`, `host_mismatch`, `pin_mismatch`,
     * `tls_handshake`, `insecure_http`): offer to sign in again with the county's CA certificate or fingerprint.
     */
    class Untrusted(val code: String, val detail: String, val messageZh: String, cause: Throwable? = null) :
        DoorstepError("server not trusted ($code): $detail", cause)

    /** The device has not signed in to a server yet: show the login screen. */
    class NotSignedIn(cause: Throwable? = null) : DoorstepError("not signed in", cause)

    /** Anything else inside the core; `detail` is for support. */
    class Internal(val detail: String, cause: Throwable? = null) : DoorstepError("internal: $detail", cause)
}

/** Maps the generated exception to the app's hierarchy; the one place that knows the generated names. */
internal fun DoorstepException.toDoorstepError(): DoorstepError = when (this) {
    is DoorstepException.Validation -> DoorstepError.Validation(errors, this)
    is DoorstepException.NotFound -> DoorstepError.NotFound(what, this)
    is DoorstepException.WrongKey -> DoorstepError.WrongKey(this)
    is DoorstepException.Storage -> DoorstepError.Storage(detail, this)
    is DoorstepException.Internal -> DoorstepError.Internal(detail, this)
    is DoorstepException.Network -> DoorstepError.Network(detail, retryable, this)
    is DoorstepException.Refused -> DoorstepError.Refused(code, detail, messageZh, retryable, this)
    is DoorstepException.UpdateRequired -> DoorstepError.UpdateRequired(detail, messageZh, this)
    is DoorstepException.NotSignedIn -> DoorstepError.NotSignedIn(this)
    is DoorstepException.Untrusted -> DoorstepError.Untrusted(code, detail, messageZh, this)
    is DoorstepException.AttachmentRefused ->
        DoorstepError.AttachmentRefused(code, limit.toLong(), detail, detailZh, this)
    else -> DoorstepError.Internal(this.toString(), this)
}
