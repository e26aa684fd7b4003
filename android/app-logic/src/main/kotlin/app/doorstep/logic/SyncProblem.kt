package app.doorstep.logic

import app.doorstep.core.DoorstepError

/**
 * Why a sync did not finish, as a helper needs to hear it: each case asks something different of them (wait for a
 * signal, sign in again, see the administrator, update the app). Screens look the words up by [code] in the string
 * table; [detail] is the core's own text, for support.
 */
data class SyncProblem(val kind: Kind, val detail: String = "") {
    enum class Kind(val code: String) {
        NETWORK("network"),
        WRONG_PASSWORD("wrong_password"),
        TOKEN_REVOKED("token_revoked"),
        ACCOUNT_DISABLED("account_disabled"),
        OUT_OF_SCOPE("out_of_scope"),
        SERVER_BUSY("server_busy"),
        UPDATE_REQUIRED("update_required"),
        NOT_SIGNED_IN("not_signed_in"),
        OTHER("other"),
    }

    companion object {
        /** The refusal codes of the sync API, to kinds; codes not listed are [Kind.OTHER]. */
        private fun ofCode(code: String): Kind = when (code) {
            "wrong_password", "unauthorized" -> Kind.WRONG_PASSWORD
            "token_revoked" -> Kind.TOKEN_REVOKED
            "account_disabled" -> Kind.ACCOUNT_DISABLED
            "out_of_scope", "forbidden" -> Kind.OUT_OF_SCOPE
            "unavailable", "too_many_attempts" -> Kind.SERVER_BUSY
            "update_required" -> Kind.UPDATE_REQUIRED
            else -> Kind.OTHER
        }

        /** From a failure thrown by "sync now". */
        fun of(e: DoorstepError): SyncProblem = when (e) {
            is DoorstepError.Network -> SyncProblem(Kind.NETWORK, e.detail)
            is DoorstepError.Refused -> SyncProblem(ofCode(e.code), e.detail)
            is DoorstepError.UpdateRequired -> SyncProblem(Kind.UPDATE_REQUIRED, e.detail)
            is DoorstepError.NotSignedIn -> SyncProblem(Kind.NOT_SIGNED_IN)
            else -> SyncProblem(Kind.OTHER, e.message.orEmpty())
        }

        /**
         * From the reason of a background sync's failure event, which is the core's error text:
         * `network: …`, `refused (code): …`, `update required: …`, `not signed in: …`.
         */
        fun ofReason(reason: String): SyncProblem {
            val refused = Regex("^refused \\(([a-z_]+)\\):\\s*(.*)$", RegexOption.DOT_MATCHES_ALL).find(reason)
            return when {
                refused != null -> SyncProblem(ofCode(refused.groupValues[1]), refused.groupValues[2])
                reason.startsWith("network:") -> SyncProblem(Kind.NETWORK, reason.removePrefix("network:").trim())
                reason.startsWith("update required") -> SyncProblem(Kind.UPDATE_REQUIRED, reason)
                reason.startsWith("not signed in") -> SyncProblem(Kind.NOT_SIGNED_IN)
                else -> SyncProblem(Kind.OTHER, reason)
            }
        }
    }
}
