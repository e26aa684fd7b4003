package app.doorstep.ui

import androidx.compose.ui.geometry.Offset
import androidx.compose.ui.test.ExperimentalTestApi
import androidx.compose.ui.test.onNodeWithTag
import androidx.compose.ui.test.performClick
import androidx.compose.ui.test.performTouchInput
import androidx.compose.ui.test.swipe
import androidx.compose.ui.unit.IntSize
import app.doorstep.core.AttachmentKind
import app.doorstep.core.DoorstepClient
import app.doorstep.core.Fixtures
import app.doorstep.core.ServerProcess
import app.doorstep.logic.AppSession
import app.doorstep.logic.Route
import app.doorstep.logic.SignaturePad
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.runBlocking
import org.jetbrains.skia.Color
import org.jetbrains.skia.EncodedImageFormat
import org.jetbrains.skia.Paint
import org.jetbrains.skia.Rect
import org.jetbrains.skia.Surface
import java.io.File
import java.util.Collections
import java.util.IdentityHashMap

/** The pictures of the record-tool screens (conflicts, attachments, sync, set aside). */
@OptIn(ExperimentalTestApi::class)
val toolShots: List<Shot> = listOf(
    Shot("conflicts", open = { s, ids -> ToolSetup.prepare(s, ids); s.navigator.go(Route.Conflicts) }),
    Shot("attachments", open = { s, ids -> s.navigator.go(Route.Attachments(ToolSetup.prepare(s, ids))) }),
    Shot(
        "signature",
        open = { s, ids -> s.navigator.go(Route.Attachments(ToolSetup.prepare(s, ids))) },
        act = {
            onNodeWithTag("sign").performClick()
            waitForIdle()
            onNodeWithTag("signature-box").performTouchInput {
                swipe(Offset(width * 0.12f, height * 0.62f), Offset(width * 0.3f, height * 0.3f), 150)
                swipe(Offset(width * 0.3f, height * 0.3f), Offset(width * 0.45f, height * 0.7f), 150)
                swipe(Offset(width * 0.5f, height * 0.45f), Offset(width * 0.88f, height * 0.5f), 150)
            }
        },
    ),
    Shot("sync", open = { s, ids -> ToolSetup.prepare(s, ids); s.navigator.go(Route.Sync) }),
    Shot("set-aside", open = { s, ids -> ToolSetup.prepare(s, ids); s.navigator.go(Route.SetAside) }),
)

/**
 * What the record-tool pictures show, made once per store: a photo and a drawn signature on the first household's
 * visit and, when the server binary is built, a real doorstep-server on 127.0.0.1 through which a second phone
 * writes the same fields (a conflict) and this phone records a household that is not its user's (set aside).
 */
object ToolSetup {
    private val prepared = Collections.newSetFromMap(IdentityHashMap<DoorstepClient, Boolean>())
    private val visits = IdentityHashMap<DoorstepClient, String>()

    /** Prepares the store of [session] once; returns the id of the visit that has the attachments. */
    fun prepare(session: AppSession, ids: Seed.Ids): String = synchronized(this) {
        val client = session.client
        if (prepared.add(client)) runBlocking {
            val hh = ids.households.getValue("王大山")
            val visit = client.visitsOf(hh).first().id
            visits[client] = visit
            client.attachBytes(visit, samplePhoto(), AttachmentKind.PHOTO, "饮用水井")
            client.attachBytes(visit, sampleSignature(), AttachmentKind.SIGNATURE, "", "image/png")
            if (ServerProcess.available()) withServer(client, hh)
        }
        visits.getValue(client)
    }

    private suspend fun withServer(a: DoorstepClient, hh: String) {
        val data = Fixtures.tempDir("doorstep-server")
        ServerProcess.admin(data, "user", "add", "helper1", "--role", "helper", "--password", "pw-helper1")
        ServerProcess.admin(data, "user", "add", "helper2", "--role", "helper", "--password", "pw-helper2")
        val s = ServerProcess.start(data)
        Runtime.getRuntime().addShutdownHook(Thread { s.close() })
        val dir = Fixtures.tempDir("doorstep-phone-b").toFile()
        DoorstepClient.open(File(dir, "b.db"), Fixtures.newKey(), "phone-b", Dispatchers.Unconfined).use { b ->
            a.login(s.url, "helper1", "pw-helper1")
            b.login(s.url, "helper1", "pw-helper1")
            a.syncNow()
            b.syncNow()
            a.saveHousehold(a.household(hh).copy(phone = "13800000001", address = "石门村三组12号"))
            b.saveHousehold(b.household(hh).copy(phone = "13912345678", address = "石门村3组12号（新房）"))
            b.syncNow()
            a.syncNow()
        }
        dir.deleteRecursively()
        // A household of helper2's, recorded here: the server refuses it and the phone keeps it for hand-over.
        a.saveHousehold(Fixtures.household(helper = "helper2", number = "HH-101", village = "龙潭村").copy(headName = "孙玉梅"))
        runCatching { a.syncNow() }
        a.syncNow()
    }

    /** A landscape photo-like JPEG: sky, ground and a well. */
    private fun samplePhoto(): ByteArray {
        val surface = Surface.makeRasterN32Premul(480, 360)
        val c = surface.canvas
        c.drawRect(Rect.makeWH(480f, 200f), Paint().apply { color = Color.makeRGB(135, 190, 230) })
        c.drawRect(Rect.makeXYWH(0f, 200f, 480f, 160f), Paint().apply { color = Color.makeRGB(120, 150, 80) })
        c.drawRect(Rect.makeXYWH(190f, 150f, 100f, 110f), Paint().apply { color = Color.makeRGB(150, 150, 150) })
        c.drawRect(Rect.makeXYWH(205f, 165f, 70f, 30f), Paint().apply { color = Color.makeRGB(60, 70, 90) })
        return surface.makeImageSnapshot().encodeToData(EncodedImageFormat.JPEG, 85)!!.bytes
    }

    /** A signature drawn by the same code the signature box uses. */
    private fun sampleSignature(): ByteArray {
        val pad = SignaturePad()
        var x = 40f
        pad.start(x, 120f)
        while (x < 520f) {
            x += 8f
            pad.moveTo(x, 120f + 50f * kotlin.math.sin(x / 35f) * kotlin.math.cos(x / 90f))
        }
        pad.start(90f, 60f)
        pad.moveTo(140f, 200f)
        return TestPlatform().encodePng(renderSignature(pad.strokes.value, IntSize(560, 240)))
    }
}
