package app.doorstep.ui

import androidx.compose.ui.geometry.Offset
import androidx.compose.ui.test.ExperimentalTestApi
import androidx.compose.ui.test.SkikoComposeUiTest
import androidx.compose.ui.test.assertTextEquals
import androidx.compose.ui.test.onAllNodesWithTag
import androidx.compose.ui.test.onNodeWithTag
import androidx.compose.ui.test.performClick
import androidx.compose.ui.test.performScrollTo
import androidx.compose.ui.test.performTouchInput
import androidx.compose.ui.test.swipe
import app.doorstep.core.AttachmentKind
import app.doorstep.core.DoorstepClient
import app.doorstep.core.Fixtures
import app.doorstep.core.ServerProcess
import app.doorstep.core.newVisit
import app.doorstep.logic.AppSession
import app.doorstep.logic.Route
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.runBlocking
import org.jetbrains.skia.Image
import org.junit.AfterClass
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assume.assumeTrue
import org.junit.BeforeClass
import org.junit.Test
import java.io.File

/**
 * The record-tool screens driven as a user would: a conflict made by two stores through a real doorstep-server is
 * resolved on the conflicts screen; a signature drawn with pointer input is attached as a PNG; "sync now" on the
 * sync screen empties the pending count against the server; set-aside records are exported through the platform.
 */
@OptIn(ExperimentalTestApi::class)
class ToolScreensTest {
    companion object {
        private var server: ServerProcess? = null

        @BeforeClass
        @JvmStatic
        fun start() {
            if (!ServerProcess.available()) return
            val data = Fixtures.tempDir("doorstep-server")
            ServerProcess.admin(data, "user", "add", "helper1", "--role", "helper", "--password", "pw-helper1")
            ServerProcess.admin(data, "user", "add", "helper2", "--role", "helper", "--password", "pw-helper2")
            server = ServerProcess.start(data)
        }

        @AfterClass
        @JvmStatic
        fun stop() {
            server?.close()
        }
    }

    private fun requireServer(): ServerProcess {
        assumeTrue("doorstep-server with a `serve` command is not built", server != null)
        return server!!
    }

    private fun SkikoComposeUiTest.show(session: AppSession, platform: Platform = TestPlatform()) {
        setContent { DoorstepApp(session, platform, Lang.ZH) }
        waitForIdle()
    }

    @Test
    fun `a field written on two phones is resolved by choosing the other phone's value`() = onPhone {
        val url = requireServer().url
        TestStore.open().use { store ->
            val a = store.client
            val dir = Fixtures.tempDir("phone-b").toFile()
            runBlocking { DoorstepClient.open(File(dir, "b.db"), Fixtures.newKey(), "phone-b", Dispatchers.Unconfined) }.use { b ->
                val hh = runBlocking {
                    a.login(url, "helper1", "pw-helper1")
                    b.login(url, "helper1", "pw-helper1")
                    val hh = a.saveHousehold(Fixtures.household(helper = "helper1", number = "UI-C1"))
                    a.syncNow()
                    b.syncNow()
                    a.saveHousehold(a.household(hh).copy(phone = "13800000001"))
                    b.saveHousehold(b.household(hh).copy(phone = "13900000002"))
                    a.syncNow()
                    b.syncNow()
                    a.syncNow()
                    hh
                }
                assertEquals(1, runBlocking { a.conflicts() }.count { it.docId == hh && it.field == "phone" })

                val session = store.session()
                session.navigator.go(Route.Conflicts)
                show(session)
                onNodeWithTag("conflict:phone").assertExists()
                assertEquals(2, onAllNodesWithTag("conflict-value").fetchSemanticsNodes().size)
                onNodeWithTag("choose:phone-b").performScrollTo().performClick()
                waitForIdle()

                onNodeWithTag("conflicts-empty").assertExists()
                assertTrue(runBlocking { a.conflicts() }.none { it.docId == hh })
                assertEquals("13900000002", runBlocking { a.household(hh) }.phone)
                // The choice is an edit like any other: it reaches the other phone.
                runBlocking {
                    a.syncNow()
                    b.syncNow()
                }
                assertEquals("13900000002", runBlocking { b.household(hh) }.phone)
                assertTrue(runBlocking { b.conflicts() }.none { it.docId == hh })
            }
            dir.deleteRecursively()
        }
    }

    @Test
    fun `a signature drawn with the pointer is attached to the visit as a PNG`() = onPhone {
        TestStore.open().use { store ->
            val hh = runBlocking { store.client.saveHousehold(Fixtures.household(number = "UI-P1")) }
            val visit = runBlocking { store.client.saveVisit(newVisit(hh, "helper1", Fixtures.today()).copy(note = "请户主签名")) }
            val session = store.session()
            session.navigator.go(Route.Household(hh))
            session.navigator.go(Route.Attachments(visit))
            show(session)
            onNodeWithTag("attachments-empty").assertExists()

            onNodeWithTag("sign").performClick()
            waitForIdle()
            // A dab is not a signature: nothing is stored.
            onNodeWithTag("signature-box").performTouchInput { swipe(center, center + Offset(4f, 0f), 50) }
            onNodeWithTag("save-signature").performClick()
            waitForIdle()
            onNodeWithTag("error").assertExists()
            assertTrue(runBlocking { store.client.attachments(visit) }.isEmpty())

            onNodeWithTag("clear-signature").performClick()
            onNodeWithTag("signature-box").performTouchInput {
                swipe(Offset(width * 0.1f, height * 0.6f), Offset(width * 0.4f, height * 0.3f), 200)
                swipe(Offset(width * 0.4f, height * 0.3f), Offset(width * 0.9f, height * 0.7f), 200)
            }
            onNodeWithTag("save-signature").performClick()
            waitForIdle()

            val attached = runBlocking { store.client.attachments(visit) }.single()
            assertEquals(AttachmentKind.SIGNATURE, attached.reference.kind)
            assertEquals("image/png", attached.reference.mediaType)
            val png = runBlocking { store.client.openAttachment(attached.reference.hash) }
            val image = Image.makeFromEncoded(png)
            assertTrue("a box-sized picture: ${image.width}x${image.height}", image.width > 300 && image.height > 150)
            assertTrue("the strokes are in the picture", inkPixels(image) > 200)
            onNodeWithTag("attachment:signature").assertExists()
            onNodeWithTag("thumbnail").assertExists()

            // Back on the household screen the visit shows the signature's thumbnail.
            session.navigator.back()
            waitForIdle()
            onNodeWithTag("thumbnails:$visit").performScrollTo().assertExists()

            // Removed from the attachments screen, it is gone from the store.
            session.navigator.go(Route.Attachments(visit))
            waitForIdle()
            onNodeWithTag("remove").performClick()
            onNodeWithTag("confirm-remove").performClick()
            waitForIdle()
            assertTrue(runBlocking { store.client.attachments(visit) }.isEmpty())
            onNodeWithTag("attachments-empty").assertExists()
        }
    }

    @Test
    fun `a photo added on one phone is fetched on the other only when opened`() = onPhone {
        val url = requireServer().url
        val photo = java.io.ByteArrayOutputStream().also {
            javax.imageio.ImageIO.write(java.awt.image.BufferedImage(64, 48, java.awt.image.BufferedImage.TYPE_INT_RGB), "jpg", it)
        }.toByteArray()
        TestStore.open().use { store ->
            val dir = Fixtures.tempDir("phone-c").toFile()
            runBlocking { DoorstepClient.open(File(dir, "c.db"), Fixtures.newKey(), "phone-c", Dispatchers.Unconfined) }.use { other ->
                val visit = runBlocking {
                    other.login(url, "helper1", "pw-helper1")
                    val hh = other.saveHousehold(Fixtures.household(helper = "helper1", number = "UI-F1"))
                    other.saveVisit(newVisit(hh, "helper1", Fixtures.today()))
                }
                // The other phone adds the photo through its attachments screen (the platform hands it the picture).
                val otherSession = AppSession(other, "helper1")
                otherSession.navigator.go(Route.Attachments(visit))
                show(otherSession, TestPlatform(photo = photo))
                onNodeWithTag("add-photo").performClick()
                waitForIdle()
                onNodeWithTag("attachment:photo").assertExists()
                runBlocking { other.syncNow() }

                runBlocking {
                    store.client.login(url, "helper1", "pw-helper1")
                    store.client.syncNow()
                }
                val listed = runBlocking { store.client.attachments(visit) }.single()
                assertTrue("not downloaded by the sync", !listed.local)
                val session = store.session()
                session.navigator.go(Route.Attachments(visit))
                setContent { DoorstepApp(session, TestPlatform(), Lang.ZH) }
                waitForIdle()
                onNodeWithTag("thumbnail-placeholder").assertExists()
                onNodeWithTag("open").performClick()
                waitForIdle()
                onNodeWithTag("full-image").assertExists()
                assertTrue("on the phone once opened", runBlocking { store.client.attachments(visit) }.single().local)
            }
            dir.deleteRecursively()
        }
    }

    /** Pixels that are clearly not the white background. */
    private fun inkPixels(image: Image): Int {
        val bitmap = org.jetbrains.skia.Bitmap.makeFromImage(image)
        var n = 0
        for (y in 0 until bitmap.height step 2) for (x in 0 until bitmap.width step 2) {
            val c = bitmap.getColor(x, y)
            if ((c and 0xFF) < 128 && ((c shr 8) and 0xFF) < 128) n++
        }
        return n
    }

    @Test
    fun `sync now on the sync screen sends what is pending to the server`() = onPhone {
        val url = requireServer().url
        TestStore.open().use { store ->
            runBlocking {
                store.client.login(url, "helper1", "pw-helper1")
                val hh = store.client.saveHousehold(Fixtures.household(helper = "helper1", number = "UI-S1"))
                store.client.saveVisit(newVisit(hh, "helper1", Fixtures.today()).copy(note = "待同步"))
            }
            val pending = runBlocking { store.client.syncStatus() }.pending
            assertTrue(pending > 0u)
            val session = store.session()
            session.navigator.go(Route.Sync)
            show(session, TestPlatform(network = app.doorstep.core.NetworkKind.UNMETERED))
            onNodeWithTag("pending-docs").assertTextEquals(ToolStr.SYNC_PENDING_DOCS.text(Lang.ZH, pending.toLong()))
            onNodeWithTag("last-success").assertTextEquals(ToolStr.SYNC_NEVER.text(Lang.ZH))

            onNodeWithTag("sync-now").performClick()
            waitUntil(timeoutMillis = 30_000) { runBlocking { store.client.syncStatus() }.pending == 0uL }
            waitForIdle()
            onNodeWithTag("pending-docs").assertTextEquals(ToolStr.SYNC_PENDING_DOCS.text(Lang.ZH, 0L))
            onNodeWithTag("sync-state").assertTextEquals(ToolStr.SYNC_STATE_SYNCED.text(Lang.ZH))
            assertEquals(0, onAllNodesWithTag("last-error").fetchSemanticsNodes().size)
            assertTrue(runBlocking { store.client.syncStatus() }.lastSyncMs != null)
        }
    }

    @Test
    fun `records the server refused are listed and exported for hand-over`() = onPhone {
        val url = requireServer().url
        TestStore.open().use { store ->
            val foreign = runBlocking {
                store.client.login(url, "helper2", "pw-helper2")
                // helper2 records a household that is helper1's: the server refuses it and the phone sets it aside.
                val id = store.client.saveHousehold(Fixtures.household(helper = "helper1", number = "UI-A1").copy(headName = "冒名户"))
                runCatching { store.client.syncNow() }
                id
            }
            assertEquals(1uL, runBlocking { store.client.syncStatus() }.setAside)
            val platform = TestPlatform()
            val session = store.session("helper2")
            session.navigator.go(Route.Sync)
            show(session, platform)
            onNodeWithTag("open-set-aside").performScrollTo().performClick()
            waitForIdle()
            onNodeWithTag("set-aside:$foreign").assertExists()
            onNodeWithTag("export").performClick()
            waitForIdle()
            onNodeWithTag("exported").assertExists()
            val (name, bytes) = platform.saved.single()
            assertTrue(name, name.endsWith(".json"))
            assertTrue(bytes.decodeToString().contains(foreign))
            assertTrue(bytes.decodeToString().contains("out_of_scope"))
        }
    }
}
