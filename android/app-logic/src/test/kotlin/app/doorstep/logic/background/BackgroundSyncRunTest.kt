package app.doorstep.logic.background

import app.doorstep.core.AttachmentKind
import app.doorstep.core.DoorstepClient
import app.doorstep.core.Fixtures
import app.doorstep.core.ServerProcess
import app.doorstep.core.StoreHolder
import app.doorstep.core.newVisit
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertSame
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance

/**
 * A background run against a real doorstep-server on 127.0.0.1 and a real encrypted store: the "worker" opens the
 * store file on its own (as after the app was closed, or from another process) and sends what the app recorded.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BackgroundSyncRunTest {
    private lateinit var server: ServerProcess
    private val serverBuilt = ServerProcess.available()
    private val metered = NetworkConditions(connected = true, unmetered = false)
    private val wifi = NetworkConditions(connected = true, unmetered = true)

    @BeforeAll
    fun startServer() {
        if (!serverBuilt) return
        val data = Fixtures.tempDir("doorstep-server")
        ServerProcess.admin(data, "user", "add", "helper7", "--role", "helper", "--password", "pw-helper7")
        server = ServerProcess.start(data)
    }

    @AfterAll
    fun stopServer() {
        if (::server.isInitialized) server.close()
    }

    @BeforeEach
    fun requireServer() = assumeTrue(serverBuilt, "doorstep-server with a `serve` command is not built")

    private val photo = byteArrayOf(0xff.toByte(), 0xd8.toByte(), 0xff.toByte(), 0xe0.toByte()) + ByteArray(3000) { it.toByte() }
    private val signature = "\u0089PNG\r\n\u001a\n".toByteArray(Charsets.ISO_8859_1) + ByteArray(100) { 7 }

    @Test
    fun `a worker run on its own handle sends what the app recorded offline, photos only on Wi-Fi`() = runBlocking {
        val path = Fixtures.tempDir("phone").resolve("store.db").toFile()
        val key = Fixtures.newKey()
        val app = StoreHolder()
        val worker = StoreHolder()
        val appClient = app.open(path, "phone-w") { key.copyOf() }
        assertSame(appClient, app.open(path, "phone-w") { error("opened twice") }, "one opened store per holder")
        appClient.login(server.url, "helper7", "pw-helper7")

        // Recorded with no network: a household, a visit, its signature and a photo.
        appClient.setOnline(false)
        val hh = appClient.saveHousehold(Fixtures.household(helper = "helper7", number = "BG-1"))
        val visit = appClient.saveVisit(newVisit(hh, "helper7", Fixtures.today()).copy(note = "离线走访"))
        appClient.attachBytes(visit, signature, AttachmentKind.SIGNATURE)
        appClient.attachBytes(visit, photo, AttachmentKind.PHOTO, caption = "房屋")
        assertTrue(appClient.pendingChanges() > 0)

        val runner = BackgroundSyncRunner { worker.open(path, "phone-w") { key.copyOf() } }
        val onMobileData = runner.run(metered) as RunOutcome.Synced
        assertTrue(onMobileData.sent > 0, "$onMobileData")
        assertEquals(1L, onMobileData.pendingBlobs, "the photo waits for Wi-Fi, the signature went")
        assertEquals(BackgroundRules.ATTACHMENTS_WORK, onMobileData.followUp?.name)
        assertEquals(NetworkRequirement.UNMETERED, onMobileData.followUp?.network)
        assertEquals(0L, appClient.pendingChanges(), "the app's handle sees the worker's sync in the same file")

        DoorstepClient.open(Fixtures.tempDir("other").resolve("s.db").toFile(), Fixtures.newKey(), "phone-x").use { other ->
            other.login(server.url, "helper7", "pw-helper7")
            other.syncNow()
            assertEquals("离线走访", other.visitsOf(hh).single().note, "the visit reached the server")
        }

        val onWifi = runner.run(wifi) as RunOutcome.Synced
        assertEquals(0L, onWifi.pendingBlobs, "the photo went on Wi-Fi")
        assertEquals(null, onWifi.followUp)
        assertEquals(0uL, appClient.syncStatus().pendingBlobs)
        worker.close()
        app.close()
    }

    @Test
    fun `a revoked device stops the schedule and asks to sign in, and a store never signed in does too`() = runBlocking {
        val holder = StoreHolder()
        val path = Fixtures.tempDir("phone").resolve("store.db").toFile()
        val key = Fixtures.newKey()
        val runner = BackgroundSyncRunner { holder.open(path, "phone-r") { key.copyOf() } }
        assertEquals(StopReason.SIGN_IN, (runner.run(wifi) as RunOutcome.Stop).reason, "nobody signed in yet")

        val client = holder.open(path, "phone-r") { key.copyOf() }
        client.login(server.url, "helper7", "pw-helper7")
        client.saveHousehold(Fixtures.household(helper = "helper7", number = "BG-2"))
        ServerProcess.admin(server.dataDir, "device", "revoke", client.syncStatus().deviceId!!)

        val outcome = runner.run(wifi)
        assertEquals(RunOutcome.Stop(StopReason.SIGN_IN, BackgroundRules.signInAgain), outcome)
        val scheduler = RecordingScheduler()
        BackgroundSyncController(scheduler).handle(outcome)
        assertEquals(listOf("cancel all", "ask SIGN_IN"), scheduler.log)
        assertTrue(client.pendingChanges() > 0, "nothing recorded is dropped")
        holder.close()
    }

    @Test
    fun `no network is a retry and the store is not touched`() = runBlocking {
        var opened = false
        val runner = BackgroundSyncRunner { opened = true; error("must not open without a network") }
        assertTrue(runner.run(NetworkConditions(connected = false, unmetered = false)) is RunOutcome.Retry)
        assertTrue(!opened)
    }
}
