package app.doorstep.desktop

import androidx.compose.ui.graphics.Color
import androidx.compose.ui.graphics.ImageBitmap
import androidx.compose.ui.graphics.toPixelMap
import androidx.compose.ui.graphics.Canvas
import androidx.compose.ui.graphics.Paint
import androidx.compose.ui.geometry.Offset
import androidx.compose.ui.test.ExperimentalTestApi
import androidx.compose.ui.test.onNodeWithTag
import androidx.compose.ui.test.runDesktopComposeUiTest
import app.doorstep.core.DoorstepClient
import app.doorstep.core.Fixtures
import app.doorstep.logic.AppSession
import app.doorstep.logic.Route
import app.doorstep.ui.DoorstepApp
import app.doorstep.ui.Lang
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import java.io.File
import java.nio.file.Files
import java.nio.file.attribute.PosixFilePermissions

/** The desktop program's platform: its key file, its picture codecs, and the shared app running over it. */
class DesktopPlatformTest {
    @Test
    fun `the store key is made once, kept private to the user, and read back the same`() {
        val dir = Fixtures.tempDir("doorstep-desktop").toFile()
        val file = File(dir, "keys/store.key")
        val first = FileStoreKeys(file).loadOrCreate()
        assertEquals(32, first.size)
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file.toPath())))
        assertArrayEquals(first, FileStoreKeys(file).loadOrCreate())
        // The key really opens the store it made, across a reopen.
        val db = File(dir, "doorstep.db")
        runBlocking {
            DoorstepClient.open(db, first, "pc").use { it.saveHousehold(Fixtures.household()) }
            DoorstepClient.open(db, FileStoreKeys(file).loadOrCreate(), "pc").use { assertEquals(1, it.households().size) }
        }
        dir.deleteRecursively()
    }

    @Test
    fun `a drawn picture goes to PNG and back with its pixels`() {
        val scope = CoroutineScope(SupervisorJob())
        val platform = DesktopPlatform(scope) { null }
        val image = ImageBitmap(20, 10)
        Canvas(image).drawCircle(Offset(10f, 5f), 4f, Paint().apply { color = Color.Black })
        val png = platform.encodePng(image)
        assertTrue(png.copyOfRange(1, 4).decodeToString() == "PNG")
        val back = platform.decodeImage(png)!!
        assertEquals(20, back.width)
        assertEquals(Color.Black, back.toPixelMap()[10, 5])
        assertNull(platform.decodeImage("not an image".encodeToByteArray()))
        scope.cancel()
    }

    @OptIn(ExperimentalTestApi::class)
    @Test
    fun `the shared app runs over the desktop platform and a real store`() = runDesktopComposeUiTest(780, 1688) {
        val scope = CoroutineScope(SupervisorJob())
        val dir = Fixtures.tempDir("doorstep-desktop").toFile()
        val client = runBlocking { DoorstepClient.open(File(dir, "doorstep.db"), Fixtures.newKey(), "pc", Dispatchers.Unconfined) }
        val session = runBlocking { AppSession.start(client) }
        setContent { DoorstepApp(session, DesktopPlatform(scope) { null }, Lang.EN) }
        waitForIdle()
        assertEquals(Route.SignIn, session.navigator.current)
        onNodeWithTag("sign-in").assertExists()
        client.close()
        scope.cancel()
        dir.deleteRecursively()
    }
}
