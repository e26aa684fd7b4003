package app.doorstep.core

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.nio.file.Files

/** Attachments through the library: a photo file and a signature go onto a visit, list, and open byte for byte. */
class AttachmentTest {
    private val dir = Fixtures.tempDir()
    private val key = Fixtures.newKey()

    private suspend fun open() = DoorstepClient.open(dir.resolve("store.db").toFile(), key, "test-phone")

    @Test
    fun `a photo file and a signature are attached, listed and opened`() = runBlocking {
        val photo = byteArrayOf(0xff.toByte(), 0xd8.toByte(), 0xff.toByte(), 0xe0.toByte()) + ByteArray(2000) { it.toByte() }
        val file = dir.resolve("house.jpg")
        Files.write(file, photo)
        val signature = "\u0089PNG\r\n\u001a\n".toByteArray(Charsets.ISO_8859_1) + ByteArray(100) { 7 }
        open().use { store ->
            val hh = store.saveHousehold(Fixtures.household())
            val visitId = store.saveVisit(newVisit(hh, "helper1", Fixtures.today()))
            val ref = store.attachFile(visitId, file.toFile(), AttachmentKind.PHOTO, caption = "房屋")
            assertEquals("image/jpeg", ref.mediaType)
            store.attachBytes(visitId, signature, AttachmentKind.SIGNATURE)
            val listed = store.attachments(visitId)
            assertEquals(2, listed.size)
            assertTrue(listed.all { it.local && it.upload == UploadState.PENDING })
            assertEquals("房屋", listed.single { it.reference.kind == AttachmentKind.PHOTO }.reference.caption)
            assertArrayEquals(photo, store.openAttachment(ref.hash))
            val tooBig = assertThrows<DoorstepError.AttachmentRefused> {
                runBlocking { store.attachBytes(visitId, signature + ByteArray(300 * 1024), AttachmentKind.SIGNATURE) }
            }
            assertEquals("too_large", tooBig.code)
            assertEquals(256L * 1024, tooBig.limit)
        }
    }
}
