package app.doorstep.ui

import androidx.compose.ui.geometry.Rect
import androidx.compose.ui.graphics.asSkiaBitmap
import androidx.compose.ui.semantics.SemanticsActions
import androidx.compose.ui.semantics.SemanticsNode
import androidx.compose.ui.semantics.SemanticsProperties
import androidx.compose.ui.semantics.getOrNull
import androidx.compose.ui.test.ExperimentalTestApi
import androidx.compose.ui.test.SkikoComposeUiTest
import androidx.compose.ui.test.onRoot
import androidx.compose.ui.text.TextLayoutResult
import app.doorstep.logic.AppSession
import org.jetbrains.skia.EncodedImageFormat
import org.jetbrains.skia.Image
import org.junit.AfterClass
import org.junit.Assert.assertEquals
import org.junit.BeforeClass
import org.junit.Test
import java.io.File

/**
 * Draws every screen at 390 × 844 dp in Chinese and in English into target/screens/, and fails when a text is cut
 * off (more lines than its limit: ellipsized or clipped) or lies outside the screen, when a string key lacks a translation, or when the pictures
 * committed under docs/screens/ are not the same set as those drawn. `-Ddoorstep.screens.update=true` replaces the
 * committed set with the one drawn. Each screen is also drawn at the large-font setting (1.3×) and checked, not kept.
 */
@OptIn(ExperimentalTestApi::class)
class ScreenshotTest {
    companion object {
        private lateinit var store: TestStore
        private lateinit var ids: Seed.Ids
        val out = File("target/screens")
        val committed = File(System.getProperty("doorstep.screens.dir") ?: "../../docs/screens")

        @BeforeClass
        @JvmStatic
        fun seed() {
            store = TestStore.open()
            ids = kotlinx.coroutines.runBlocking { Seed.village(store.client) }
            out.deleteRecursively()
            out.mkdirs()
        }

        @AfterClass
        @JvmStatic
        fun close() = store.close()
    }

    private val shots = mainShots + toolShots

    @Test
    fun `every screen in both languages, nothing cut off, the committed pictures match`() {
        val problems = stringTableProblems().toMutableList()
        for (shot in shots) for (lang in Lang.entries) {
            val name = "${shot.name}-${lang.name.lowercase()}"
            problems += draw(shot, lang, 1f) { test -> File(out, "$name.png").writeBytes(test.png()) }.map { "$name: $it" }
            problems += draw(shot, lang, 1.3f) {}.map { "$name (large font): $it" }
        }
        assertEquals("screens with text cut off or outside the screen", emptyList<String>(), problems)

        val drawn = out.list()!!.filter { it.endsWith(".png") }.sorted()
        if (System.getProperty("doorstep.screens.update") == "true") {
            committed.mkdirs()
            committed.listFiles()!!.filter { it.name.endsWith(".png") && it.name !in drawn }.forEach { it.delete() }
            drawn.forEach { File(out, it).copyTo(File(committed, it), overwrite = true) }
        }
        val inDocs = committed.list()?.filter { it.endsWith(".png") }?.sorted().orEmpty()
        assertEquals(
            "docs/screens/ must hold exactly the pictures this test draws (run with -Ddoorstep.screens.update=true)",
            drawn, inDocs,
        )
    }

    private fun draw(shot: Shot, lang: Lang, fontScale: Float, keep: (SkikoComposeUiTest) -> Unit): List<String> {
        var found = emptyList<String>()
        onPhone(fontScale) {
            val session = AppSession(store.client, if (shot.signedIn) "helper1" else null)
            shot.open(session, ids)
            setContent { DoorstepApp(session, TestPlatform(), lang) }
            waitForIdle()
            shot.act(this)
            waitForIdle()
            found = layoutProblems(onRoot(useUnmergedTree = true).fetchSemanticsNode())
            keep(this)
        }
        return found
    }
}

/**
 * Why a text does not show whole, or null: it needs more lines than its limit (so it was ellipsized or clipped).
 * [l] is the layout the text's semantics report, rebuilt from its last constraints, line limit and overflow.
 */
fun cutOff(l: TextLayoutResult): String? = when {
    (0 until l.lineCount).any { l.isLineEllipsized(it) } -> "ellipsized"
    l.multiParagraph.didExceedMaxLines -> "more lines than its limit of ${l.layoutInput.maxLines}"
    else -> null
}

/** The screen as PNG bytes. */
@OptIn(ExperimentalTestApi::class)
fun SkikoComposeUiTest.png(): ByteArray =
    Image.makeFromBitmap(captureToImage().asSkiaBitmap()).encodeToData(EncodedImageFormat.PNG)!!.bytes

/**
 * Every text on the screen that is cut off (its layout overflows its box: clipped, ellipsized or beyond its lines)
 * or that lies outside the screen. Text inside a scrolling container may lie beyond the screen along the scroll.
 */
fun layoutProblems(root: SemanticsNode): List<String> {
    val screen = root.boundsInRoot
    val problems = mutableListOf<String>()
    fun visit(node: SemanticsNode, scrollsX: Boolean, scrollsY: Boolean) {
        val x = scrollsX || node.config.getOrNull(SemanticsProperties.HorizontalScrollAxisRange) != null
        val y = scrollsY || node.config.getOrNull(SemanticsProperties.VerticalScrollAxisRange) != null
        val text = node.config.getOrNull(SemanticsProperties.Text)?.joinToString(" ") { it.text }
            ?: node.config.getOrNull(SemanticsProperties.EditableText)?.text
        if (!text.isNullOrEmpty()) {
            val pos = node.positionInRoot
            val box = Rect(pos.x, pos.y, pos.x + node.size.width, pos.y + node.size.height)
            if (!x && (box.left < screen.left - 0.5f || box.right > screen.right + 0.5f)) {
                problems += "\"$text\" runs outside the screen sideways ($box)"
            }
            if (!y && (box.top < screen.top - 0.5f || box.bottom > screen.bottom + 0.5f)) {
                problems += "\"$text\" runs outside the screen vertically ($box)"
            }
            val layouts = mutableListOf<TextLayoutResult>()
            node.config.getOrNull(SemanticsActions.GetTextLayoutResult)?.action?.invoke(layouts)
            layouts.forEach { l -> cutOff(l)?.let { problems += "\"$text\" is cut off: $it" } }
        }
        node.children.forEach { visit(it, x, y) }
    }
    visit(root, false, false)
    return problems
}
