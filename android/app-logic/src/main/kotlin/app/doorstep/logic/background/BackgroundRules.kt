package app.doorstep.logic.background

import app.doorstep.core.DoorstepError
import app.doorstep.core.NetworkKind
import app.doorstep.core.SyncState
import app.doorstep.core.SyncStatus
import app.doorstep.logic.UiText
import app.doorstep.logic.toUiText

/**
 * When the phone syncs while the app is closed, and what it sends on which network: the decisions of the Android
 * WorkManager worker and the iOS background tasks, kept here so they are tested on the JVM (the platform parts only
 * read the network, schedule work and show a notification).
 */
object BackgroundRules {
    /** Unique names of the scheduled work: one of each exists at a time, so triggers never pile up runs. */
    const val PERIODIC_WORK = "doorstep-sync-periodic"
    const val ONE_OFF_WORK = "doorstep-sync-soon"
    const val ATTACHMENTS_WORK = "doorstep-sync-attachments"

    /**
     * Every hour while the phone has any network (WorkManager's floor is 15 minutes): a helper back in the township
     * is synced within the hour without opening the app, and a phone without signal is never woken for nothing.
     */
    val periodic = PeriodicSpec(PERIODIC_WORK, intervalMinutes = 60, flexMinutes = 20, network = NetworkRequirement.CONNECTED)

    /** Exponential backoff after a failed run: 30 s, 1 min, 2 min, … at most an hour; the periodic run goes on. */
    val backoff = Backoff(initialSeconds = 30, maxSeconds = 3600, maxAttempts = 6)

    /** Refusal codes after which only the user can help: the token is gone, so signing in again is the way. */
    private val signInCodes = setOf("token_revoked", "account_disabled", "unauthorized")

    /**
     * What a run sends on this network (the core's network policy, stated for the worker): records and signatures on
     * any network; photos and scanned forms only on an unmetered one unless the user allows mobile data.
     * Null when there is no network at all.
     */
    fun sendPlan(network: NetworkConditions): SendPlan? {
        if (!network.connected) return null
        val attachments = network.unmetered || network.allowMeteredAttachments
        return SendPlan(
            records = true,
            signatures = true,
            photosAndScans = attachments,
            networkKind = if (network.unmetered) NetworkKind.UNMETERED else NetworkKind.METERED,
            allowMetered = network.allowMeteredAttachments,
        )
    }

    /** A sync the app (or another run) already has going does the work; a second one would only wait for it. */
    fun anotherSyncRunning(state: SyncState): Boolean = state is SyncState.Syncing || state is SyncState.Attachments

    /** A store that never signed in (or signed out) has nowhere to sync to. */
    fun signedIn(status: SyncStatus): Boolean = !status.server.isNullOrEmpty() && !status.user.isNullOrEmpty()

    /**
     * After a run that succeeded: photos or scanned forms that waited for Wi-Fi get their own one-off work that needs
     * an unmetered network, so they go as soon as there is one, not at the next periodic run.
     */
    fun followUp(status: SyncStatus, plan: SendPlan): OneOffSpec? =
        if (status.pendingBlobs > 0uL && !plan.photosAndScans) {
            OneOffSpec(ATTACHMENTS_WORK, NetworkRequirement.UNMETERED, OneOffReason.ATTACHMENTS_WAIT_FOR_WIFI)
        } else {
            null
        }

    /**
     * Whether something recorded on the phone needs a one-off run: the app's own sync stops when it leaves the
     * foreground or loses the network, so work still waiting then is handed to a run that starts on any network.
     */
    fun oneOffFor(trigger: Trigger, pendingChanges: Long, pendingBlobs: Long): OneOffSpec? = when {
        trigger == Trigger.SIGNED_IN -> OneOffSpec(ONE_OFF_WORK, NetworkRequirement.CONNECTED, OneOffReason.SIGNED_IN)
        pendingChanges > 0 || pendingBlobs > 0 ->
            OneOffSpec(ONE_OFF_WORK, NetworkRequirement.CONNECTED, OneOffReason.RECORDED_OFFLINE)
        else -> null
    }

    /** The outcome of a run that failed with [error] on its [attempt]-th try (0 for the first). */
    fun decide(error: DoorstepError, attempt: Int): RunOutcome = when (error) {
        is DoorstepError.Network -> if (error.retryable) retry(attempt, error.toUiText()) else RunOutcome.GiveUp(error.toUiText())
        is DoorstepError.Refused -> when {
            error.code in signInCodes -> RunOutcome.Stop(StopReason.SIGN_IN, signInAgain)
            error.retryable -> retry(attempt, error.toUiText())
            else -> RunOutcome.GiveUp(error.toUiText())
        }
        is DoorstepError.UpdateRequired -> RunOutcome.Stop(StopReason.UPDATE_REQUIRED, error.toUiText())
        is DoorstepError.NotSignedIn -> RunOutcome.Stop(StopReason.SIGN_IN, signInAgain)
        is DoorstepError.WrongKey -> RunOutcome.Stop(StopReason.UNLOCK, error.toUiText())
        // A store busy past its timeout or a full disk may be fine a little later.
        is DoorstepError.Storage -> retry(attempt, error.toUiText())
        else -> RunOutcome.GiveUp(error.toUiText())
    }

    /** A run that found no network: wait for one (the constraint normally prevents this; a network can drop). */
    fun noNetwork(attempt: Int): RunOutcome =
        retry(attempt, UiText("没有网络，联网后自动同步", "No network; syncs by itself once connected"))

    private fun retry(attempt: Int, message: UiText): RunOutcome =
        if (attempt + 1 >= backoff.maxAttempts) RunOutcome.GiveUp(message)
        else RunOutcome.Retry(backoff.delaySeconds(attempt), message)

    val signInAgain = UiText("设备已被停用或登录已失效，请重新登录后继续同步", "This device was signed out; sign in again to keep syncing")
}

/** The network a scheduled run waits for (WorkManager's NetworkType, iOS's requiresNetworkConnectivity). */
enum class NetworkRequirement { CONNECTED, UNMETERED }

/** The phone's network when a run starts, from the connectivity manager, and the user's mobile-data switch. */
data class NetworkConditions(val connected: Boolean, val unmetered: Boolean, val allowMeteredAttachments: Boolean = false)

/** What one run sends; [networkKind] and [allowMetered] go to the core's network policy. */
data class SendPlan(
    /** Households, visits and screenings: always, they are small and the point of syncing. */
    val records: Boolean,
    /** Signatures are small and needed for the ledger: any network. */
    val signatures: Boolean,
    /** Photos and scanned forms: unmetered networks only, unless the user allows mobile data. */
    val photosAndScans: Boolean,
    val networkKind: NetworkKind,
    val allowMetered: Boolean,
)

/** The repeating run. */
data class PeriodicSpec(val name: String, val intervalMinutes: Long, val flexMinutes: Long, val network: NetworkRequirement)

/** A single run as soon as [network] is there. */
data class OneOffSpec(val name: String, val network: NetworkRequirement, val reason: OneOffReason)

enum class OneOffReason { SIGNED_IN, RECORDED_OFFLINE, ATTACHMENTS_WAIT_FOR_WIFI }

/** What asks for a one-off run. */
enum class Trigger { SIGNED_IN, LEFT_FOREGROUND, NETWORK_LOST }

/** Exponential backoff between the tries of one run. */
data class Backoff(val initialSeconds: Long, val maxSeconds: Long, val maxAttempts: Int) {
    /** The wait before try [attempt] + 1: initial × 2^attempt, capped. */
    fun delaySeconds(attempt: Int): Long {
        val shift = attempt.coerceIn(0, 30)
        return (initialSeconds shl shift).coerceAtMost(maxSeconds)
    }
}

/** Why background sync stopped until the user acts. */
enum class StopReason {
    /** The device was revoked, the account disabled, or nobody is signed in: cancel the schedule, ask to sign in. */
    SIGN_IN,

    /** The server speaks a newer protocol: cancel the schedule, ask to update the app. */
    UPDATE_REQUIRED,

    /** The store key no longer opens the store: cancel, ask to unlock. */
    UNLOCK,
}

/** How one background run ended, and what the platform does next. */
sealed interface RunOutcome {
    /** The sync finished; [followUp] is extra work to schedule (attachments waiting for Wi-Fi). */
    data class Synced(val sent: Long, val received: Long, val pendingBlobs: Long, val followUp: OneOffSpec?) : RunOutcome

    /** Nothing was done, and nothing is wrong (another sync was already running). */
    data class Skipped(val why: String) : RunOutcome

    /** Try this run again after [delaySeconds] (WorkManager's `Result.retry()`, with its own backoff). */
    data class Retry(val delaySeconds: Long, val message: UiText) : RunOutcome

    /** This run failed for good; the periodic run tries again later. */
    data class GiveUp(val message: UiText) : RunOutcome

    /** Background sync stops until the user acts on [message]. */
    data class Stop(val reason: StopReason, val message: UiText) : RunOutcome
}
