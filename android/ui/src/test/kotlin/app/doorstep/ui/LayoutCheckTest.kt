package app.doorstep.ui

import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.offset
import androidx.compose.foundation.layout.width
import androidx.compose.material3.Text
import androidx.compose.ui.Modifier
import androidx.compose.ui.test.ExperimentalTestApi
import androidx.compose.ui.test.onRoot
import androidx.compose.ui.text.style.TextOverflow
import androidx.compose.ui.unit.dp
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

/** The screenshot test's layout check finds what it must: text cut off, text beyond the screen, and nothing else. */
@OptIn(ExperimentalTestApi::class)
class LayoutCheckTest {
    @Test
    fun `an ellipsized text is cut off`() = onPhone {
        setContent { Box(Modifier.width(60.dp)) { Text("a long sentence that cannot fit", maxLines = 1, overflow = TextOverflow.Ellipsis) } }
        val problems = layoutProblems(onRoot(useUnmergedTree = true).fetchSemanticsNode())
        assertTrue(problems.toString(), problems.single().contains("is cut off"))
    }

    @Test
    fun `a text clipped at its line limit is cut off`() = onPhone {
        setContent { Box(Modifier.width(60.dp)) { Text("two words and more", maxLines = 1, overflow = TextOverflow.Clip) } }
        val problems = layoutProblems(onRoot(useUnmergedTree = true).fetchSemanticsNode())
        assertTrue(problems.toString(), problems.single().contains("more lines than its limit of 1"))
    }

    @Test
    fun `a text pushed beyond the screen's edge is outside the screen`() = onPhone {
        setContent { Box(Modifier.offset(x = 350.dp)) { Text("off the edge", softWrap = false) } }
        val problems = layoutProblems(onRoot(useUnmergedTree = true).fetchSemanticsNode())
        assertTrue(problems.toString(), problems.any { it.contains("outside the screen sideways") })
    }

    @Test
    fun `a text that wraps inside its box is fine`() = onPhone {
        setContent { Box(Modifier.width(120.dp)) { Text("a long sentence that wraps onto several lines") } }
        assertEquals(emptyList<String>(), layoutProblems(onRoot(useUnmergedTree = true).fetchSemanticsNode()))
    }
}
