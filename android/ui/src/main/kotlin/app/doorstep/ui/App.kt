package app.doorstep.ui

import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.automirrored.filled.ArrowBack
import androidx.compose.material.icons.filled.DateRange
import androidx.compose.material.icons.filled.Home
import androidx.compose.material.icons.filled.Refresh
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.NavigationBar
import androidx.compose.material3.NavigationBarItem
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.CompositionLocalProvider
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.text.style.TextOverflow
import app.doorstep.logic.AppSession
import app.doorstep.logic.Route
import java.util.Locale

/**
 * The whole app for a signed-in (or signing-in) device: top bar with back, the current route's screen, and the
 * bottom bar between the top-level screens. Android's MainActivity and the desktop window both show exactly this.
 */
@Composable
fun DoorstepApp(session: AppSession, platform: Platform, lang: Lang = Lang.of(Locale.getDefault())) {
    CompositionLocalProvider(LocalPlatform provides platform, LocalLang provides lang) {
        DoorstepTheme {
            LaunchedEffect(platform) {
                // The core syncs when it is told the network is back; photos wait for an unmetered network.
                platform.connectivity.network.collect { kind -> session.networkChanged(kind) }
            }
            val stack by session.navigator.stack.collectAsState()
            val route = stack.last()
            platform.BackHandler(enabled = stack.size > 1) { session.navigator.back() }
            AppScaffold(session, route, canGoBack = stack.size > 1)
        }
    }
}

@OptIn(ExperimentalMaterial3Api::class)
@Composable
private fun AppScaffold(session: AppSession, route: Route, canGoBack: Boolean) {
    Scaffold(
        topBar = {
            TopAppBar(
                title = { Text(str(route.title()), maxLines = 1, overflow = TextOverflow.Ellipsis) },
                navigationIcon = {
                    if (canGoBack) {
                        IconButton(onClick = { session.navigator.back() }, Modifier.testTag("back")) {
                            Icon(Icons.AutoMirrored.Filled.ArrowBack, contentDescription = str(Str.BACK))
                        }
                    }
                },
            )
        },
        bottomBar = { if (route != Route.SignIn) BottomBar(session, route) },
    ) { padding ->
        Box(Modifier.fillMaxSize().padding(padding)) {
            RouteScreen(session, route)
        }
    }
}

@Composable
private fun BottomBar(session: AppSession, route: Route) {
    NavigationBar {
        listOf(
            Triple(Route.Today, Str.NAV_TODAY, Icons.Filled.DateRange),
            Triple(Route.Households, Str.NAV_HOUSEHOLDS, Icons.Filled.Home),
            Triple(Route.Sync, Str.NAV_SYNC, Icons.Filled.Refresh),
        ).forEach { (target, label, icon) ->
            NavigationBarItem(
                selected = route == target,
                onClick = { session.navigator.go(target) },
                icon = { Icon(icon, contentDescription = null) },
                label = { Text(str(label), maxLines = 1) },
                modifier = Modifier.testTag("nav-${label.name}"),
            )
        }
    }
}
