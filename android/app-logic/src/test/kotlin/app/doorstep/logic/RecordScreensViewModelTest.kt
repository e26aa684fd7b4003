package app.doorstep.logic

import app.doorstep.core.AttachmentKind
import app.doorstep.core.DoorstepClient
import app.doorstep.core.DoorstepError
import app.doorstep.core.Fixtures
import app.doorstep.core.newVisit
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertInstanceOf
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.time.ZoneOffset

/** The attachments, signature and labelling logic of the record screens, against a real encrypted store. */
class RecordScreensViewModelTest {
    private fun store(): DoorstepClient = runBlocking {
        DoorstepClient.open(Fixtures.tempDir().resolve("r.db").toFile(), Fixtures.newKey(), "vm-phone")
    }

    /** The smallest valid PNG (1×1), as a signature or photo stand-in whose type the core can sniff. */
    private val png1x1: ByteArray = java.util.Base64.getDecoder().decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
    )

    @Test
    fun `attachments are added, listed with their bytes for thumbnails, opened and removed`() = runBlocking {
        store().use { client ->
            val hh = client.saveHousehold(Fixtures.household())
            val visit = client.saveVisit(newVisit(hh, "helper1", Fixtures.today()).copy(note = "带照片"))
            val vm = AttachmentsViewModel(client, visit)
            vm.refresh()
            assertTrue(vm.state.value.items.isEmpty())

            assertTrue(vm.addSignature(png1x1))
            val item = vm.state.value.items.single()
            assertEquals(AttachmentKind.SIGNATURE, item.kind)
            assertEquals("image/png", item.attachment.reference.mediaType)
            assertTrue(item.bytes!!.contentEquals(png1x1), "the thumbnail bytes are the stored bytes")

            vm.open(item.hash)
            val shown = vm.state.value.viewer as AttachmentsViewModel.Viewer.Shown
            assertTrue(shown.bytes.contentEquals(png1x1))
            vm.closeViewer()
            assertNull(vm.state.value.viewer)

            // The household screen's strip finds it through the household.
            val strip = householdAttachments(client, hh)
            assertEquals(listOf(visit to item.hash), strip.map { it.first to it.second.hash })

            assertTrue(vm.remove(item.hash))
            assertTrue(vm.state.value.items.isEmpty())
            assertTrue(client.attachments(visit).isEmpty(), "removed in the store, not only on the screen")
        }
    }

    @Test
    fun `a refused attachment is shown in words and nothing is stored`() = runBlocking {
        store().use { client ->
            val hh = client.saveHousehold(Fixtures.household())
            val visit = client.saveVisit(newVisit(hh, "helper1", Fixtures.today()))
            val vm = AttachmentsViewModel(client, visit)
            vm.refresh()
            assertFalse(vm.addPhoto("not an image".toByteArray()))
            val error = vm.state.value.error
            assertNotNull(error)
            assertTrue(error!!.zh.isNotBlank() && error.en.isNotBlank(), "$error")
            assertTrue(vm.state.value.items.isEmpty())
            assertTrue(client.attachments(visit).isEmpty())
            assertFalse(vm.state.value.busy)
        }
    }

    @Test
    fun `the signature pad needs some ink before it is a signature`() {
        val pad = SignaturePad(minInk = 40f)
        pad.start(10f, 10f)
        pad.moveTo(20f, 10f)
        assertFalse(pad.isSignature, "a 10 px slip is not a signature")
        pad.moveTo(20f, 50f)
        assertEquals(50f, pad.ink(), 0.01f)
        assertTrue(pad.isSignature)
        pad.start(100f, 100f)
        assertEquals(2, pad.strokes.value.size)
        assertEquals(1, pad.strokes.value[1].size)
        pad.clear()
        assertTrue(pad.strokes.value.isEmpty())
        assertFalse(pad.isSignature)
        pad.moveTo(1f, 1f) // a move with no stroke begun starts one
        assertEquals(1, pad.strokes.value.size)
    }

    @Test
    fun `field paths lose their ids and name the member`() {
        assertEquals(FieldLabel("phone"), FieldLabel.of("phone"))
        assertEquals(FieldLabel("members.name", "王大山"), FieldLabel.of("members.m1.name", mapOf("m1" to "王大山")))
        assertEquals(FieldLabel("problems.status"), FieldLabel.of("problems.p-7.status"))
        assertEquals(FieldLabel("assurances.water.status"), FieldLabel.of("assurances.water.status"))
        assertEquals(FieldLabel("members", null), FieldLabel.of("members"))
    }

    @Test
    fun `conflict values read as a person would`() {
        assertEquals(FieldValue.Text("13800000001"), FieldValue.parse("\"13800000001\""))
        assertEquals(FieldValue.Text("王\"大\"山"), FieldValue.parse("\"王\\\"大\\\"山\""))
        assertEquals(FieldValue.Number("1200.5"), FieldValue.parse("1200.5"))
        assertEquals(FieldValue.Bool(true), FieldValue.parse("true"))
        assertEquals(FieldValue.Empty, FieldValue.parse("null"))
        assertEquals(FieldValue.Empty, FieldValue.parse("\"\""))
        assertInstanceOf(FieldValue.Other::class.java, FieldValue.parse("{\"a\":1}"))
        assertEquals(FieldValue.Other("not json"), FieldValue.parse("not json"))
        assertEquals("2026-12-06 09:30", formatLocalTime(1_796_549_400_000, ZoneOffset.UTC))
        assertEquals("", formatLocalTime(0))
    }

    @Test
    fun `a sync failure's reason becomes a kind the screen can put in words`() {
        assertEquals(SyncProblem.Kind.NETWORK, SyncProblem.ofReason("network: connection refused").kind)
        val revoked = SyncProblem.ofReason("refused (token_revoked): this device was revoked")
        assertEquals(SyncProblem.Kind.TOKEN_REVOKED, revoked.kind)
        assertEquals("this device was revoked", revoked.detail)
        assertEquals(SyncProblem.Kind.SERVER_BUSY, SyncProblem.ofReason("refused (unavailable): disk full").kind)
        assertEquals(SyncProblem.Kind.UPDATE_REQUIRED, SyncProblem.ofReason("update required: protocol 3").kind)
        assertEquals(SyncProblem.Kind.NOT_SIGNED_IN, SyncProblem.ofReason("not signed in: log in first").kind)
        assertEquals(SyncProblem.Kind.OTHER, SyncProblem.ofReason("unexpected answer from the server: 502").kind)
        assertEquals(SyncProblem.Kind.NOT_SIGNED_IN, SyncProblem.of(DoorstepError.NotSignedIn()).kind)
        assertEquals(
            SyncProblem.Kind.WRONG_PASSWORD,
            SyncProblem.of(DoorstepError.Refused("wrong_password", "wrong", "密码错误", false)).kind,
        )
    }

    @Test
    fun `record labels come from set-aside JSON`() {
        val h = RecordLabel.fromJson("h1", "household", """{"id":"h1","number":"HH-9","head_name":"冒名户"}""")
        assertEquals(RecordLabel.Household("h1", "HH-9", "冒名户"), h)
        val v = RecordLabel.fromJson("v1", "visit", """{"id":"v1","household_id":"h1","date":"2026-11-03"}""")
        assertEquals(RecordLabel.Visit("v1", "h1", "", "2026-11-03"), v)
        assertEquals(RecordLabel.Unknown("x"), RecordLabel.fromJson("x", "household", "[1,2"))
    }
}
