package app.doorstep.android.background

import android.content.Context
import androidx.work.CoroutineWorker
import androidx.work.WorkerParameters
import app.doorstep.logic.background.BackgroundSyncController
import app.doorstep.logic.background.BackgroundSyncRunner
import app.doorstep.logic.background.RunOutcome

/**
 * The sync WorkManager runs while the app is closed (periodic, and one-off after work recorded offline). It runs in
 * the app's process and uses the same opened store as the screens (`StoreHolder.process`), so the app and the
 * worker never sync at once; every decision is app-logic's [BackgroundSyncRunner] and BackgroundRules, tested on
 * the JVM. Here: read the network, run, map the outcome to WorkManager's result.
 */
class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result {
        val context = applicationContext
        val runner = BackgroundSyncRunner { AppStore.open(context) }
        val outcome = runner.run(AndroidNetwork.conditions(context), runAttemptCount)
        BackgroundSyncController(WorkManagerScheduler(context)).handle(outcome)
        return when (outcome) {
            is RunOutcome.Synced, is RunOutcome.Skipped -> Result.success()
            // WorkManager waits by the backoff set on the request (the same exponential backoff as the rules').
            is RunOutcome.Retry -> Result.retry()
            // A periodic run that fails still runs next period; Stop has already cancelled the schedule.
            is RunOutcome.GiveUp, is RunOutcome.Stop -> Result.failure()
        }
    }
}
