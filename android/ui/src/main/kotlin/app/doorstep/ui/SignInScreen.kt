package app.doorstep.ui

import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.testTag
import androidx.compose.ui.text.input.ImeAction
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.text.input.PasswordVisualTransformation
import app.doorstep.logic.AppSession
import app.doorstep.logic.LoginViewModel
import app.doorstep.logic.LoginViewModel.Refusal
import kotlinx.coroutines.launch

/** Server, user name and password; every refusal explained in words, beneath the button. */
@Composable
fun SignInScreen(session: AppSession) {
    val vm = session.login
    val scope = rememberCoroutineScope()
    val server by vm.server.collectAsState()
    val user by vm.user.collectAsState()
    val password by vm.password.collectAsState()
    val state by vm.state.collectAsState()
    LaunchedEffect(state) { (state as? LoginViewModel.State.SignedIn)?.let { session.signedIn(it.info) } }
    ScreenColumn {
        Text(str(Str.SIGNIN_SUBTITLE), style = MaterialTheme.typography.bodyMedium)
        OutlinedTextField(
            server, { vm.server.value = it }, Modifier.fillMaxWidth().testTag("server"),
            label = { Text(str(Str.SIGNIN_SERVER)) }, singleLine = true,
            keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Uri, imeAction = ImeAction.Next),
        )
        OutlinedTextField(
            user, { vm.user.value = it }, Modifier.fillMaxWidth().testTag("user"),
            label = { Text(str(Str.SIGNIN_USER)) }, singleLine = true,
            keyboardOptions = KeyboardOptions(imeAction = ImeAction.Next),
        )
        OutlinedTextField(
            password, { vm.password.value = it }, Modifier.fillMaxWidth().testTag("password"),
            label = { Text(str(Str.SIGNIN_PASSWORD)) }, singleLine = true,
            visualTransformation = PasswordVisualTransformation(),
            keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Password, imeAction = ImeAction.Done),
        )
        val busy = state == LoginViewModel.State.SigningIn
        Button(
            onClick = { scope.launch { vm.signIn() } },
            enabled = !busy,
            modifier = Modifier.fillMaxWidth().heightIn(min = MinTouch).testTag("sign-in"),
        ) { Text(str(if (busy) Str.SIGNIN_BUSY else Str.SIGNIN_BUTTON)) }
        (state as? LoginViewModel.State.Failed)?.let { ErrorText(refusalText(it)) }
    }
}

/** The words for a refusal: the app's own for the ones a user can act on, the server's message otherwise. */
@Composable
private fun refusalText(failed: LoginViewModel.State.Failed): String = when (failed.refusal) {
    Refusal.MISSING_FIELDS -> str(Str.SIGNIN_MISSING)
    Refusal.WRONG_PASSWORD -> str(Str.SIGNIN_WRONG_PASSWORD)
    Refusal.DEVICE_REVOKED -> str(Str.SIGNIN_REVOKED)
    Refusal.ACCOUNT_DISABLED -> str(Str.SIGNIN_DISABLED)
    Refusal.UPDATE_REQUIRED -> str(Str.SIGNIN_UPDATE)
    Refusal.NO_NETWORK -> str(Str.SIGNIN_NO_NETWORK)
    Refusal.OTHER -> str(Str.SIGNIN_REFUSED, failed.message.text())
}
