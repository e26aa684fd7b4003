package app.doorstep.logic

import app.doorstep.core.DoorstepError

/** A message for the user in both languages the app speaks; screens pick one by locale. */
data class UiText(val zh: String, val en: String)

/** What a screen shows for a failure: field errors are shown beside fields instead, so they are summarized. */
fun DoorstepError.toUiText(): UiText = when (this) {
    is DoorstepError.Validation -> UiText("请检查标红的字段", "Please check the fields marked in red")
    is DoorstepError.NotFound -> UiText("记录不存在", "Record not found")
    is DoorstepError.WrongKey -> UiText("无法解锁数据，请重新登录", "The data could not be unlocked; sign in again")
    is DoorstepError.Storage -> UiText("手机存储出错", "Phone storage failed")
    is DoorstepError.Network -> UiText("网络不可用，稍后自动重试", "No connection; will retry by itself")
    is DoorstepError.Refused -> UiText(messageZh.ifEmpty { "服务器拒绝了请求" }, detail)
    is DoorstepError.UpdateRequired -> UiText(messageZh.ifEmpty { "请更新应用" }, detail)
    is DoorstepError.AttachmentRefused -> UiText(detailZh, detail)
    is DoorstepError.NotSignedIn -> UiText("请先登录", "Please sign in first")
    is DoorstepError.Untrusted -> UiText(messageZh, detail)
    is DoorstepError.Internal -> UiText("内部错误", "Internal error")
}
