package app.doorstep.logic

import app.doorstep.core.DoorstepClient
import app.doorstep.core.Fixtures
import app.doorstep.core.ServerProcess
import app.doorstep.core.SyncState
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance

/** The login and sync screens' view models against a real doorstep-server on 127.0.0.1. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SignedInViewModelTest {
    private lateinit var server: ServerProcess
    private val serverBuilt = ServerProcess.available()

    @BeforeAll
    fun startServer() {
        if (!serverBuilt) return
        val data = Fixtures.tempDir("doorstep-server")
        ServerProcess.admin(data, "user", "add", "helper2", "--role", "helper", "--password", "pw-helper2")
        server = ServerProcess.start(data)
    }

    @AfterAll
    fun stopServer() {
        if (::server.isInitialized) server.close()
    }

    @BeforeEach
    fun requireServer() = assumeTrue(serverBuilt, "doorstep-server with a `serve` command is not built")

    @Test
    fun `signing in, then syncing from the sync screen, empties the pending count`() = runBlocking {
        DoorstepClient.open(Fixtures.tempDir().resolve("s.db").toFile(), Fixtures.newKey(), "vm-phone").use { client ->
            val login = LoginViewModel(client)
            login.server.value = server.url
            login.user.value = "helper2"
            login.password.value = "wrong"
            login.signIn()
            val refused = login.state.value as LoginViewModel.State.Failed
            assertTrue(refused.message.en.isNotBlank(), "the server's refusal is shown")

            login.password.value = "pw-helper2"
            login.signIn()
            val signedIn = login.state.value as LoginViewModel.State.SignedIn
            assertEquals("helper2", signedIn.info.user)

            client.saveHousehold(Fixtures.household(helper = "helper2", number = "VM-1"))
            val sync = SyncViewModel(client)
            sync.refreshStatus()
            assertTrue(sync.status.value!!.pending > 0u)
            sync.syncNow()
            assertNull(sync.error.value, "${sync.error.value}")
            assertEquals(0uL, sync.status.value!!.pending)
            assertTrue(sync.state.value is SyncState.Synced, "${sync.state.value}")
            assertEquals("已同步", sync.summary().zh)
        }
    }
}
