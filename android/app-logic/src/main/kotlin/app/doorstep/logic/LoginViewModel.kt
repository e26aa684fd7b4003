package app.doorstep.logic

import app.doorstep.core.DoorstepClient
import app.doorstep.core.DoorstepError
import app.doorstep.core.LoginInfo
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/** The login screen: server address, user name and password; signs the device in. */
class LoginViewModel(private val client: DoorstepClient) {
    /** What the login screen shows. */
    sealed interface State {
        data object Editing : State
        data object SigningIn : State
        data class SignedIn(val info: LoginInfo) : State
        /** Why the sign-in failed ([refusal], for the screen's words) and the server's own message. */
        data class Failed(val message: UiText, val refusal: Refusal = Refusal.OTHER) : State
    }

    /** The refusals the sign-in screen explains in its own words; anything else shows the server's message. */
    enum class Refusal { MISSING_FIELDS, WRONG_PASSWORD, DEVICE_REVOKED, ACCOUNT_DISABLED, UPDATE_REQUIRED, NO_NETWORK, OTHER }

    val server = MutableStateFlow("")
    val user = MutableStateFlow("")
    val password = MutableStateFlow("")
    private val _state = MutableStateFlow<State>(State.Editing)
    val state: StateFlow<State> = _state.asStateFlow()

    /** True when every field has something in it. */
    val canSubmit: Boolean get() = server.value.isNotBlank() && user.value.isNotBlank() && password.value.isNotEmpty()

    /** Signs in; the password is cleared whatever happens so it never lingers in memory longer than needed. */
    suspend fun signIn() {
        if (!canSubmit) {
            _state.value = State.Failed(UiText("请填写服务器、用户名和密码", "Enter server, user name and password"), Refusal.MISSING_FIELDS)
            return
        }
        _state.value = State.SigningIn
        _state.value = try {
            State.SignedIn(client.login(server.value.trim(), user.value.trim(), password.value))
        } catch (e: DoorstepError) {
            State.Failed(e.toUiText(), refusalOf(e))
        } finally {
            password.value = ""
        }
    }
}

/** Which of the sign-in screen's explanations fits a failure. */
internal fun refusalOf(e: DoorstepError): LoginViewModel.Refusal = when (e) {
    is DoorstepError.Network -> LoginViewModel.Refusal.NO_NETWORK
    is DoorstepError.UpdateRequired -> LoginViewModel.Refusal.UPDATE_REQUIRED
    is DoorstepError.Refused -> when (e.code) {
        "wrong_password" -> LoginViewModel.Refusal.WRONG_PASSWORD
        "token_revoked", "device_revoked" -> LoginViewModel.Refusal.DEVICE_REVOKED
        "account_disabled" -> LoginViewModel.Refusal.ACCOUNT_DISABLED
        else -> LoginViewModel.Refusal.OTHER
    }
    else -> LoginViewModel.Refusal.OTHER
}
