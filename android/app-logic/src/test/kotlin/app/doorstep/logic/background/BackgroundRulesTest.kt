package app.doorstep.logic.background

import app.doorstep.core.DoorstepError
import app.doorstep.core.NetworkKind
import app.doorstep.core.SyncState
import app.doorstep.logic.UiText
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** The background sync's decisions on their own: when to run, what to send on which network, what each refusal means. */
class BackgroundRulesTest {
    @Test
    fun `records and signatures go on any network, photos and scans only on an unmetered one unless allowed`() {
        assertNull(BackgroundRules.sendPlan(NetworkConditions(connected = false, unmetered = false)))

        val metered = BackgroundRules.sendPlan(NetworkConditions(connected = true, unmetered = false))!!
        assertTrue(metered.records && metered.signatures)
        assertFalse(metered.photosAndScans)
        assertEquals(NetworkKind.METERED, metered.networkKind)
        assertFalse(metered.allowMetered)

        val allowed = BackgroundRules.sendPlan(NetworkConditions(connected = true, unmetered = false, allowMeteredAttachments = true))!!
        assertTrue(allowed.photosAndScans)
        assertEquals(NetworkKind.METERED, allowed.networkKind)
        assertTrue(allowed.allowMetered)

        val wifi = BackgroundRules.sendPlan(NetworkConditions(connected = true, unmetered = true))!!
        assertTrue(wifi.records && wifi.signatures && wifi.photosAndScans)
        assertEquals(NetworkKind.UNMETERED, wifi.networkKind)
    }

    @Test
    fun `the periodic run needs a network, and triggers schedule one-off runs only when work waits`() {
        assertEquals(NetworkRequirement.CONNECTED, BackgroundRules.periodic.network)
        assertTrue(BackgroundRules.periodic.intervalMinutes >= 15, "WorkManager's shortest period is 15 minutes")
        assertNull(BackgroundRules.oneOffFor(Trigger.LEFT_FOREGROUND, pendingChanges = 0, pendingBlobs = 0))
        val offline = BackgroundRules.oneOffFor(Trigger.NETWORK_LOST, pendingChanges = 3, pendingBlobs = 0)!!
        assertEquals(OneOffReason.RECORDED_OFFLINE, offline.reason)
        assertEquals(NetworkRequirement.CONNECTED, offline.network)
        assertEquals(OneOffReason.RECORDED_OFFLINE, BackgroundRules.oneOffFor(Trigger.LEFT_FOREGROUND, 0, 1)!!.reason)
        assertEquals(OneOffReason.SIGNED_IN, BackgroundRules.oneOffFor(Trigger.SIGNED_IN, 0, 0)!!.reason)
    }

    @Test
    fun `failures back off exponentially and give up after the last attempt`() {
        val network = DoorstepError.Network("connection refused", retryable = true)
        assertEquals(RunOutcome.Retry(30, UiText("网络不可用，稍后自动重试", "No connection; will retry by itself")), BackgroundRules.decide(network, 0))
        assertEquals(60L, (BackgroundRules.decide(network, 1) as RunOutcome.Retry).delaySeconds)
        assertEquals(120L, (BackgroundRules.decide(network, 2) as RunOutcome.Retry).delaySeconds)
        assertEquals(3600L, BackgroundRules.backoff.delaySeconds(20), "capped at an hour")
        val last = BackgroundRules.backoff.maxAttempts - 1
        assertTrue(BackgroundRules.decide(network, last) is RunOutcome.GiveUp)
        assertTrue(BackgroundRules.noNetwork(0) is RunOutcome.Retry)
        assertTrue(BackgroundRules.decide(DoorstepError.Network("bad certificate", retryable = false), 0) is RunOutcome.GiveUp)
        assertTrue(BackgroundRules.decide(DoorstepError.Storage("database is locked"), 0) is RunOutcome.Retry)
        assertTrue(BackgroundRules.decide(DoorstepError.Refused("unavailable", "busy", "服务器繁忙", retryable = true), 0) is RunOutcome.Retry)
        assertTrue(BackgroundRules.decide(DoorstepError.Internal("bug"), 0) is RunOutcome.GiveUp)
    }

    @Test
    fun `a revoked device, a disabled account or no sign-in stop the schedule and ask to sign in`() {
        for (code in listOf("token_revoked", "account_disabled", "unauthorized")) {
            val outcome = BackgroundRules.decide(DoorstepError.Refused(code, "refused", "拒绝", retryable = false), 0)
            assertEquals(RunOutcome.Stop(StopReason.SIGN_IN, BackgroundRules.signInAgain), outcome, code)
        }
        assertEquals(StopReason.SIGN_IN, (BackgroundRules.decide(DoorstepError.NotSignedIn(), 0) as RunOutcome.Stop).reason)
        val update = BackgroundRules.decide(DoorstepError.UpdateRequired("protocol 3 required", "请更新应用"), 0) as RunOutcome.Stop
        assertEquals(StopReason.UPDATE_REQUIRED, update.reason)
        assertEquals("请更新应用", update.message.zh)
        assertEquals(StopReason.UNLOCK, (BackgroundRules.decide(DoorstepError.WrongKey(), 0) as RunOutcome.Stop).reason)
    }

    @Test
    fun `a run is skipped while another sync runs`() {
        assertTrue(BackgroundRules.anotherSyncRunning(SyncState.Syncing(1, 0)))
        assertTrue(BackgroundRules.anotherSyncRunning(SyncState.Attachments(0, 2, 0, 100)))
        for (idle in listOf(SyncState.Idle, SyncState.Offline, SyncState.Synced(1, 1, 1), SyncState.Failed("x", true))) {
            assertFalse(BackgroundRules.anotherSyncRunning(idle), "$idle")
        }
    }

    @Test
    fun `the controller schedules at sign-in, stops on a refusal and schedules attachments for Wi-Fi`() {
        val scheduler = RecordingScheduler()
        val controller = BackgroundSyncController(scheduler)
        controller.signedIn()
        assertEquals(listOf("periodic ${BackgroundRules.PERIODIC_WORK} CONNECTED", "once ${BackgroundRules.ONE_OFF_WORK} CONNECTED"), scheduler.log)

        scheduler.log.clear()
        controller.appStopsSyncing(Trigger.LEFT_FOREGROUND, pendingChanges = 0, pendingBlobs = 0)
        assertEquals(emptyList<String>(), scheduler.log, "nothing waits, nothing scheduled")
        controller.appStopsSyncing(Trigger.LEFT_FOREGROUND, pendingChanges = 2, pendingBlobs = 0)
        assertEquals(listOf("once ${BackgroundRules.ONE_OFF_WORK} CONNECTED"), scheduler.log)

        scheduler.log.clear()
        val wifi = OneOffSpec(BackgroundRules.ATTACHMENTS_WORK, NetworkRequirement.UNMETERED, OneOffReason.ATTACHMENTS_WAIT_FOR_WIFI)
        controller.handle(RunOutcome.Synced(1, 0, 1, wifi))
        controller.handle(RunOutcome.Retry(30, UiText("", "")))
        controller.handle(RunOutcome.Stop(StopReason.SIGN_IN, BackgroundRules.signInAgain))
        assertEquals(listOf("once ${BackgroundRules.ATTACHMENTS_WORK} UNMETERED", "cancel all", "ask SIGN_IN"), scheduler.log)
    }
}

/** WorkManager's place in the JVM tests: records what would be scheduled. */
class RecordingScheduler : SyncScheduler {
    val log = mutableListOf<String>()
    override fun schedulePeriodic(spec: PeriodicSpec) { log += "periodic ${spec.name} ${spec.network}" }
    override fun scheduleOneOff(spec: OneOffSpec) { log += "once ${spec.name} ${spec.network}" }
    override fun cancelAll() { log += "cancel all" }
    override fun askUser(reason: StopReason, message: UiText) { log += "ask $reason" }
}
