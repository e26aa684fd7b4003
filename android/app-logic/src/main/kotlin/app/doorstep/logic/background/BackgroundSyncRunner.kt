package app.doorstep.logic.background

import app.doorstep.core.DoorstepClient
import app.doorstep.core.DoorstepError
import app.doorstep.logic.UiText

/**
 * One background run, as the worker (Android) or the background task (iOS mirrors it) performs it: open the shared
 * store, skip when a sync is already running, set the network policy for the network the phone is on, sync, and
 * turn the result into a [RunOutcome] by [BackgroundRules].
 *
 * [openStore] gives the process's opened store (normally `StoreHolder.process`), opening it when the app is not
 * running; it may throw [DoorstepError] (a wrong key).
 */
class BackgroundSyncRunner(private val openStore: suspend () -> DoorstepClient) {
    /** Runs once on [network]; [attempt] counts earlier tries of this run (0 for the first). Never throws. */
    suspend fun run(network: NetworkConditions, attempt: Int = 0): RunOutcome {
        val plan = BackgroundRules.sendPlan(network) ?: return BackgroundRules.noNetwork(attempt)
        return try {
            val client = openStore()
            if (BackgroundRules.anotherSyncRunning(client.syncState.value)) {
                return RunOutcome.Skipped("a sync is already running")
            }
            if (!BackgroundRules.signedIn(client.syncStatus())) {
                return RunOutcome.Stop(StopReason.SIGN_IN, BackgroundRules.signInAgain)
            }
            client.setNetwork(plan.networkKind, plan.allowMetered)
            client.setOnline(true)
            val result = client.syncNow()
            val status = client.syncStatus()
            RunOutcome.Synced(
                sent = result.sent.toLong(),
                received = result.received.toLong(),
                pendingBlobs = status.pendingBlobs.toLong(),
                followUp = BackgroundRules.followUp(status, plan),
            )
        } catch (e: DoorstepError) {
            BackgroundRules.decide(e, attempt)
        }
    }
}

/** The platform's scheduler: WorkManager on Android, BGTaskScheduler on iOS. */
interface SyncScheduler {
    /** Schedules the periodic run, keeping one already scheduled (so its timing is not reset). */
    fun schedulePeriodic(spec: PeriodicSpec)

    /** Schedules a single run, keeping one of the same name already waiting. */
    fun scheduleOneOff(spec: OneOffSpec)

    /** Cancels every scheduled run (sign-out, revoked device, update required). */
    fun cancelAll()

    /** Tells the user, in a notification, what to do so syncing can go on. */
    fun askUser(reason: StopReason, message: UiText)
}

/**
 * Turns app events and run outcomes into scheduling: what the app calls at sign-in, when it leaves the foreground
 * or loses the network, at sign-out, and after each run.
 */
class BackgroundSyncController(private val scheduler: SyncScheduler) {
    /** Sign-in: the periodic run from now on (it survives reboots), and a first run as soon as there is a network. */
    fun signedIn() {
        scheduler.schedulePeriodic(BackgroundRules.periodic)
        BackgroundRules.oneOffFor(Trigger.SIGNED_IN, 0, 0)?.let(scheduler::scheduleOneOff)
    }

    /** App start with a signed-in store: makes sure the periodic run exists (an update or a cleared schedule). */
    fun started(signedIn: Boolean) {
        if (signedIn) scheduler.schedulePeriodic(BackgroundRules.periodic)
    }

    /** The app leaves the foreground or loses the network: work still waiting gets a one-off run. */
    fun appStopsSyncing(trigger: Trigger, pendingChanges: Long, pendingBlobs: Long) {
        BackgroundRules.oneOffFor(trigger, pendingChanges, pendingBlobs)?.let(scheduler::scheduleOneOff)
    }

    fun signedOut() = scheduler.cancelAll()

    /** After a run: follow-up work, or stopping and asking the user. */
    fun handle(outcome: RunOutcome) {
        when (outcome) {
            is RunOutcome.Synced -> outcome.followUp?.let(scheduler::scheduleOneOff)
            is RunOutcome.Stop -> {
                scheduler.cancelAll()
                scheduler.askUser(outcome.reason, outcome.message)
            }
            is RunOutcome.Retry, is RunOutcome.GiveUp, is RunOutcome.Skipped -> Unit
        }
    }
}
