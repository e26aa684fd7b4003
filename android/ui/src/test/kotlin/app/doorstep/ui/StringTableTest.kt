package app.doorstep.ui

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import java.io.File
import java.util.Locale

/** Problems of the string table: a key without both languages, or whose texts disagree on placeholders. */
fun stringTableProblems(sections: List<StringSection> = StringSections): List<String> {
    val placeholder = Regex("%(\\d+\\$)?[sd]")
    fun marks(s: String) = placeholder.findAll(s).map { it.value }.sorted().toList()
    val problems = mutableListOf<String>()
    val names = mutableSetOf<String>()
    for (section in sections) {
        for (key in section.keys) {
            if (!names.add(key.name)) problems += "${key.name}: the key is in two sections"
            val tr = section.texts[key]
            when {
                tr == null -> problems += "${key.name}: no entry"
                tr.zh.isBlank() -> problems += "${key.name}: no Chinese text"
                tr.en.isBlank() -> problems += "${key.name}: no English translation"
                marks(tr.zh) != marks(tr.en) -> problems += "${key.name}: placeholders differ (${tr.zh} / ${tr.en})"
            }
        }
    }
    return problems
}

class StringTableTest {
    @Test
    fun `every key has Chinese and English with the same placeholders`() {
        assertEquals(emptyList<String>(), stringTableProblems())
    }

    @Test
    fun `the check finds a missing translation, a missing entry and a lost placeholder`() {
        val blank = StringSection(listOf(Str.SAVE), mapOf(Str.SAVE to Tr("保存", " ")))
        assertEquals(listOf("SAVE: no English translation"), stringTableProblems(listOf(blank)))
        val absent = StringSection(listOf(Str.SAVE, Str.ADD), mapOf(Str.SAVE to Tr("保存", "Save")))
        assertEquals(listOf("ADD: no entry"), stringTableProblems(listOf(absent)))
        val lost = StringSection(listOf(Str.HH_COUNT), mapOf(Str.HH_COUNT to Tr("共 %d 户", "households")))
        assertTrue(stringTableProblems(listOf(lost)).single().startsWith("HH_COUNT: placeholders differ"))
    }

    @Test
    fun `the language follows the system locale, Chinese by default`() {
        assertEquals(Lang.EN, Lang.of(Locale.ENGLISH))
        assertEquals(Lang.EN, Lang.of(Locale.UK))
        assertEquals(Lang.ZH, Lang.of(Locale.SIMPLIFIED_CHINESE))
        assertEquals(Lang.ZH, Lang.of(Locale.FRENCH))
    }

    @Test
    fun `screens hold no Chinese text outside the string table`() {
        val sources = File("src/main/kotlin").walkTopDown().filter { it.isFile && it.extension == "kt" }.toList()
        assertTrue("ui sources not found from ${File(".").absolutePath}", sources.isNotEmpty())
        val tables = setOf("StringTable.kt", "ToolStrings.kt")
        val cjk = Regex("\"[^\"]*[\\u4e00-\\u9fff][^\"]*\"")
        val found = sources.filter { it.name !in tables }.flatMap { f ->
            f.readLines().mapIndexedNotNull { i, line ->
                val code = line.trimStart()
                val comment = code.startsWith("//") || code.startsWith("/*") || code.startsWith("*")
                if (!comment && cjk.containsMatchIn(code.substringBefore(" // "))) "${f.name}:${i + 1}: $line" else null
            }
        }
        assertEquals(emptyList<String>(), found)
    }
}
