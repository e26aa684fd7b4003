package app.doorstep.ui

import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.lightColorScheme
import androidx.compose.runtime.Composable
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.unit.dp
import app.doorstep.core.AlertLevel
import app.doorstep.core.ReferralLevel

/** Alert colours as the monitoring rules name them (red, yellow, blue), dark enough for white text in sunlight. */
object AlertColors {
    val red = Color(0xFFC62828)
    val yellow = Color(0xFFF9A825)
    val blue = Color(0xFF1565C0)

    fun of(level: AlertLevel): Color = when (level) {
        AlertLevel.RED -> red
        AlertLevel.YELLOW -> yellow
        AlertLevel.BLUE -> blue
    }

    /** Text on top of an alert colour: yellow needs dark text to stay readable. */
    fun onColor(level: AlertLevel): Color = if (level == AlertLevel.YELLOW) Color(0xFF212121) else Color.White

    /** The colour of a suggested referral: urgent in red, routine in yellow-brown, none in the normal text colour. */
    fun ofReferral(level: ReferralLevel): Color = when (level) {
        ReferralLevel.URGENT -> red
        ReferralLevel.ROUTINE -> Color(0xFF8D6E00)
        ReferralLevel.NONE -> Color.Unspecified
    }
}

/** The smallest touch target on any control (Android's and WCAG's 48 dp). */
val MinTouch = 48.dp

private val colors = lightColorScheme(
    primary = Color(0xFF2E7D32),
    onPrimary = Color.White,
    primaryContainer = Color(0xFFC8E6C9),
    onPrimaryContainer = Color(0xFF0B3D0E),
    secondary = Color(0xFF1565C0),
    error = AlertColors.red,
)

/** The app's theme: Material 3 with a green primary (the health centre's) and the alert colours above. */
@Composable
fun DoorstepTheme(content: @Composable () -> Unit) {
    MaterialTheme(colorScheme = colors, content = content)
}
