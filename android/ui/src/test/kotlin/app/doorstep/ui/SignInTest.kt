package app.doorstep.ui

import androidx.compose.ui.test.ExperimentalTestApi
import androidx.compose.ui.test.SkikoComposeUiTest
import androidx.compose.ui.test.onNodeWithTag
import androidx.compose.ui.test.onNodeWithText
import androidx.compose.ui.test.performClick
import androidx.compose.ui.test.performTextClearance
import androidx.compose.ui.test.performTextInput
import app.doorstep.core.Fixtures
import app.doorstep.core.ServerProcess
import app.doorstep.logic.AppSession
import app.doorstep.logic.Route
import org.junit.AfterClass
import org.junit.Assert.assertEquals
import org.junit.Assume.assumeTrue
import org.junit.BeforeClass
import org.junit.Test
import java.net.ServerSocket

/** The sign-in screen against a real doorstep-server on 127.0.0.1: each refusal in words, then signing in. */
@OptIn(ExperimentalTestApi::class)
class SignInTest {
    companion object {
        private var server: ServerProcess? = null

        @BeforeClass
        @JvmStatic
        fun start() {
            if (!ServerProcess.available()) return
            val data = Fixtures.tempDir("doorstep-server")
            ServerProcess.admin(data, "user", "add", "helper1", "--role", "helper", "--password", "pw-helper1")
            ServerProcess.admin(data, "user", "add", "gone", "--role", "helper", "--password", "pw-gone-2026")
            ServerProcess.admin(data, "user", "disable", "gone")
            server = ServerProcess.start(data)
        }

        @AfterClass
        @JvmStatic
        fun stop() {
            server?.close()
        }
    }

    private fun SkikoComposeUiTest.signIn(url: String, user: String, password: String) {
        listOf("server" to url, "user" to user, "password" to password).forEach { (tag, text) ->
            onNodeWithTag(tag).performTextClearance()
            onNodeWithTag(tag).performTextInput(text)
        }
        onNodeWithTag("sign-in").performClick()
        waitForIdle()
    }

    @Test
    fun `each refusal is shown in words, then the right password signs in`() {
        assumeTrue("doorstep-server with a `serve` command is not built", server != null)
        val url = server!!.url
        TestStore.open().use { store ->
            onPhone {
                val session = AppSession(store.client, null)
                setContent { DoorstepApp(session, TestPlatform(), Lang.ZH) }
                waitForIdle()
                assertEquals(Route.SignIn, session.navigator.current)

                signIn(url, "helper1", "not-the-password")
                onNodeWithText(Str.SIGNIN_WRONG_PASSWORD.text(Lang.ZH)).assertExists()

                signIn(url, "gone", "pw-gone-2026")
                onNodeWithText(Str.SIGNIN_DISABLED.text(Lang.ZH)).assertExists()

                // A port nobody listens on: the phone is "offline" as far as this server goes.
                val closed = ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()).use { it.localPort }
                signIn("http://127.0.0.1:$closed", "helper1", "pw-helper1")
                onNodeWithText(Str.SIGNIN_NO_NETWORK.text(Lang.ZH)).assertExists()

                onNodeWithTag("sign-in").performClick()
                waitForIdle()
                onNodeWithText(Str.SIGNIN_MISSING.text(Lang.ZH)).assertExists()

                signIn(url, "helper1", "pw-helper1")
                assertEquals(Route.Today, session.navigator.current)
                assertEquals("helper1", session.user.value)
            }
        }
    }

    @Test
    fun `the refusals read in English on an English phone`() {
        TestStore.open().use { store ->
            onPhone {
                val session = AppSession(store.client, null)
                setContent { DoorstepApp(session, TestPlatform(), Lang.EN) }
                waitForIdle()
                val closed = ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()).use { it.localPort }
                signIn("http://127.0.0.1:$closed", "helper1", "pw")
                onNodeWithText("Cannot reach the server: check the network and the server address.").assertExists()
            }
        }
    }
}
