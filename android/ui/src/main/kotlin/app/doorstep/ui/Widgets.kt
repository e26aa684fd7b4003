package app.doorstep.ui

import androidx.compose.foundation.background
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.ColumnScope
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.shape.RoundedCornerShape
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.unit.dp
import app.doorstep.core.AlertLevel
import app.doorstep.core.FieldError

/** A screen's scrolling body with the app's margins. */
@Composable
fun ScreenColumn(modifier: Modifier = Modifier, content: @Composable ColumnScope.() -> Unit) {
    Column(
        modifier.fillMaxSize().verticalScroll(rememberScrollState()).padding(horizontal = 16.dp, vertical = 12.dp),
        verticalArrangement = Arrangement.spacedBy(8.dp),
        content = content,
    )
}

/** A section title inside a screen. */
@Composable
fun SectionTitle(text: String, modifier: Modifier = Modifier) {
    Text(text, modifier.padding(top = 8.dp), style = MaterialTheme.typography.titleMedium)
}

/** Shown while a screen loads its first data. */
@Composable
fun Loading() {
    Box(Modifier.fillMaxWidth().padding(32.dp).testTag("loading"), contentAlignment = Alignment.Center) {
        CircularProgressIndicator()
    }
}

/** A failure the screen cannot show beside a field, in words. */
@Composable
fun ErrorText(text: String, modifier: Modifier = Modifier) {
    Text(text, modifier.testTag("error"), color = MaterialTheme.colorScheme.error)
}

/** The message of one field's first error in the screen's language. */
@Composable
fun FieldError.text(): String = if (LocalLang.current == Lang.ZH) messageZh else messageEn

/**
 * The errors of one field, shown right under it; tagged `error:<field>` so tests (and screen readers) find the
 * error beside its field.
 */
@Composable
fun FieldErrors(field: String, errors: List<FieldError>?) {
    if (errors.isNullOrEmpty()) return
    Column(Modifier.testTag("error:$field")) {
        errors.forEach { Text(it.text(), color = MaterialTheme.colorScheme.error, style = MaterialTheme.typography.bodySmall) }
    }
}

/** A small coloured label: the alert level of a household, a conflict count, an overdue mark. */
@Composable
fun Badge(text: String, color: Color, onColor: Color = Color.White, modifier: Modifier = Modifier) {
    Text(
        text,
        modifier.background(color, RoundedCornerShape(6.dp)).padding(horizontal = 8.dp, vertical = 2.dp),
        color = onColor,
        style = MaterialTheme.typography.labelMedium,
    )
}

/** A household's alert level as a coloured badge (nothing when the household has no alert). */
@Composable
fun AlertBadge(level: AlertLevel?) {
    if (level == null) return
    Badge(str(level.label()), AlertColors.of(level), AlertColors.onColor(level), Modifier.testTag("alert-${level.name}"))
}
