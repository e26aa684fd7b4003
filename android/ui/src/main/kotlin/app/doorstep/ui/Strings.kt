package app.doorstep.ui

import androidx.compose.runtime.Composable
import androidx.compose.runtime.ReadOnlyComposable
import androidx.compose.runtime.staticCompositionLocalOf
import app.doorstep.logic.UiText
import java.util.Locale

/** The two languages of the app. Chinese is the default; English when the system's language is English. */
enum class Lang {
    ZH, EN;

    companion object {
        fun of(locale: Locale): Lang = if (locale.language == "en") EN else ZH
    }
}

/** The language of the screens below; set once by [DoorstepApp] from the system locale (tests set it directly). */
val LocalLang = staticCompositionLocalOf { Lang.ZH }

/** One entry of the string table: the Chinese text and its English translation (`%s`, `%d` placeholders alike). */
class Tr(val zh: String, val en: String) {
    fun of(lang: Lang): String = if (lang == Lang.ZH) zh else en
}

/** A key of the string table. Each group of screens has an enum of keys and a map of their texts. */
interface StrKey {
    val name: String
}

/** One group's keys and texts. */
class StringSection(val keys: List<StrKey>, val texts: Map<out StrKey, Tr>)

/** Every section of the one string table; a new group of screens adds its section here. */
val StringSections: List<StringSection> = listOf(
    StringSection(Str.entries, StringTable),
    StringSection(ToolStr.entries, ToolStringTable),
)

private val allTexts: Map<StrKey, Tr> by lazy {
    StringSections.flatMap { it.texts.entries }.associate { (k, v) -> k to v }
}

/** The text of [key] in [lang], with [args] filled in. */
fun StrKey.text(lang: Lang, vararg args: Any?): String {
    val pattern = (allTexts[this] ?: error("string $name has no entry in the string table")).of(lang)
    return if (args.isEmpty()) pattern else String.format(pattern, *args)
}

/** The text of [key] in the screen's language: the only way screens put words on the screen. */
@Composable
@ReadOnlyComposable
fun str(key: StrKey, vararg args: Any?): String = key.text(LocalLang.current, *args)

/** A two-language message from the view models (server refusals, sync state) in the screen's language. */
@Composable
@ReadOnlyComposable
fun UiText.text(): String = if (LocalLang.current == Lang.ZH) zh else en
