package app.doorstep.core

import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows

/**
 * The library against a real doorstep-server on a loopback port: login, sync both ways, the sync state flow,
 * a conflict made by two devices editing the same field offline, listed and resolved, and typed refusals.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SyncTest {
    private lateinit var server: ServerProcess
    private val serverBuilt = ServerProcess.available()

    @BeforeAll
    fun startServer() {
        if (!serverBuilt) return
        val data = Fixtures.tempDir("doorstep-server")
        ServerProcess.admin(data, "user", "add", "helper1", "--role", "helper", "--password", "pw-helper1")
        server = ServerProcess.start(data)
    }

    /** Each test is reported as skipped (not passed) while the server binary has no `serve` command. */
    @BeforeEach
    fun requireServer() = assumeTrue(serverBuilt, "doorstep-server with a `serve` command is not built")

    @AfterAll
    fun stopServer() {
        if (::server.isInitialized) server.close()
    }

    private suspend fun device(name: String): DoorstepClient =
        DoorstepClient.open(Fixtures.tempDir(name).resolve("store.db").toFile(), Fixtures.newKey(), name)

    @Test
    fun `records reach the server and come down to a second device, and the state flow says so`() = runBlocking {
        device("phone-a").use { a ->
            device("phone-b").use { b ->
                val info = a.login(server.url, "helper1", "pw-helper1")
                assertEquals("helper1", info.user)
                assertEquals("helper", info.role)
                val hh = a.saveHousehold(Fixtures.household(helper = "helper1", number = "SYNC-1"))
                a.saveVisit(newVisit(hh, "helper1", Fixtures.today()).copy(note = "同步测试"))
                assertTrue(a.syncStatus().pending > 0u)

                val result = a.syncNow()
                assertTrue(result.sent > 0u, "sent: $result")
                assertEquals(0uL, a.syncStatus().pending)
                val state = withTimeout(30_000) { a.syncState.first { it is SyncState.Synced } }
                assertTrue((state as SyncState.Synced).sent > 0)

                b.login(server.url, "helper1", "pw-helper1")
                b.syncNow()
                assertEquals("王大山", b.household(hh).headName)
                assertEquals("同步测试", b.visitsOf(hh).single().note)

                b.setOnline(false)
                assertEquals(SyncState.Offline, b.syncState.value)
                b.setOnline(true)
                val again = a.syncNow()
                assertEquals(0uL, again.sent, "a second sync sends nothing new")
            }
        }
    }

    @Test
    fun `the same field edited on two devices is a conflict, listed with both values and resolved everywhere`() =
        runBlocking {
            device("phone-c").use { a ->
                device("phone-d").use { b ->
                    a.login(server.url, "helper1", "pw-helper1")
                    b.login(server.url, "helper1", "pw-helper1")
                    val hh = a.saveHousehold(Fixtures.household(helper = "helper1", number = "CONFLICT-1"))
                    a.syncNow()
                    b.syncNow()

                    a.saveHousehold(a.household(hh).copy(phone = "13800000001"))
                    b.saveHousehold(b.household(hh).copy(phone = "13900000002"))
                    a.syncNow()
                    b.syncNow()
                    a.syncNow()

                    for (store in listOf(a, b)) {
                        val conflict = store.conflicts().single { it.docId == hh && it.field == "phone" }
                        val values = conflict.values.map { it.valueJson }.toSet()
                        assertEquals(setOf("\"13800000001\"", "\"13900000002\""), values)
                    }
                    a.resolveConflict(hh, "phone", "\"13800000001\"")
                    assertTrue(a.conflicts().none { it.docId == hh })
                    assertTrue(a.fieldHistory(hh, "phone").size >= 2)
                    a.syncNow()
                    b.syncNow()
                    assertTrue(b.conflicts().none { it.docId == hh }, "resolved on the other device too")
                    assertEquals("13800000001", b.household(hh).phone)
                }
            }
        }

    @Test
    fun `a wrong password is a typed refusal and a sync before login says so`() = runBlocking {
        device("phone-e").use { a ->
            assertThrows<DoorstepError.NotSignedIn> { runBlocking { a.syncNow() } }
            val e = assertThrows<DoorstepError.Refused> { runBlocking { a.login(server.url, "helper1", "wrong") } }
            assertEquals("wrong_password", e.code)
            val bg = a.startBackgroundSync()
            bg.cancel()
            bg.close()
        }
    }
}
