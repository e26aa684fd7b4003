//! Why a sync or a login failed, in the terms the app acts on: retry later, sign in again, update the app, or show
//! the server's refusal. Every `ErrorBody` code of the HTTP API maps to one case here, in one function.

use super::protocol::{ErrorBody, ErrorCode};

/// A failed login or sync. `retryable()` says whether the same request may succeed later unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// The device has never signed in (no server, no token in the store).
    #[error("not signed in: log in to a server first")]
    NotSignedIn,
    /// The server's certificate was refused, or the address is plain `http://` off this machine (see
    /// `sync::trust`); nothing was sent. `cause` names why.
    #[error("server not trusted ({}): {detail}", .cause.code())]
    Untrusted { cause: super::trust::TrustFailure, detail: String },
    /// The server could not be reached, or the connection broke; nothing was lost, try again later.
    #[error("network: {message}")]
    Network { message: String, retryable: bool },
    /// The server speaks another protocol version: the app must be updated.
    #[error("update required: {message_en}")]
    UpdateRequired { message_en: String, message_zh: String },
    /// The server refused the request (wrong password, revoked token, out of scope, …); nothing of it was stored.
    #[error("refused ({}): {message_en}", code_str(*.code))]
    Refused { code: ErrorCode, message_en: String, message_zh: String, retryable: bool },
    /// The server answered something that is not the protocol (a proxy page, a corrupt body).
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    /// Signing in as another account, or to another server, while the device holds changes that the previous
    /// account's server never received and that could not be sent first (its sign-in was revoked, or the server
    /// could not be reached). Nothing changed: sync as that account first, or hand the work over (set it aside).
    #[error(
        "this device holds {pending} changes by {user} that {server} has not received; sign in as {user} and sync \
         first, or hand them over (set them aside for export) and sign in again"
    )]
    UnsyncedWork { user: String, server: String, pending: u64 },
}

impl SyncError {
    /// True when retrying the same request later may succeed (network trouble, a busy server).
    pub fn retryable(&self) -> bool {
        match self {
            SyncError::Untrusted { .. } => false,
            SyncError::Network { retryable, .. } | SyncError::Refused { retryable, .. } => *retryable,
            SyncError::Protocol(_) => true,
            SyncError::NotSignedIn | SyncError::UpdateRequired { .. } | SyncError::UnsyncedWork { .. } => false,
        }
    }

    /// The refusal code, when the server refused.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            SyncError::Refused { code, .. } => Some(*code),
            SyncError::UpdateRequired { .. } => Some(ErrorCode::UpdateRequired),
            _ => None,
        }
    }

    /// Maps an error answer (status and body) of the server to a typed error. A body that is not an `ErrorBody`
    /// (a proxy's page) is judged by its status alone.
    pub fn from_response(status: u16, body: &[u8]) -> Self {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(b) if b.code == ErrorCode::UpdateRequired => {
                SyncError::UpdateRequired { message_en: b.message_en, message_zh: b.message_zh }
            }
            Ok(b) => SyncError::Refused {
                code: b.code,
                message_en: b.message_en,
                message_zh: b.message_zh,
                retryable: b.retryable
                    || matches!(
                        b.code,
                        ErrorCode::Unavailable | ErrorCode::TooManyAttempts | ErrorCode::HouseholdUnknown
                    ),
            },
            Err(_) => Self::from_status(status),
        }
    }

    fn from_status(status: u16) -> Self {
        let refused = |code, en: &str, zh: &str, retryable| SyncError::Refused {
            code,
            message_en: format!("{en} (HTTP {status})"),
            message_zh: format!("{zh}（HTTP {status}）"),
            retryable,
        };
        match status {
            426 => SyncError::UpdateRequired {
                message_en: "this app is too old or too new for the server: update the app".into(),
                message_zh: "应用版本与服务器不一致，请更新应用".into(),
            },
            401 => refused(ErrorCode::Unauthorized, "not authorized", "未授权", false),
            403 => refused(ErrorCode::Forbidden, "forbidden", "无权限", false),
            404 => refused(
                ErrorCode::NotFound,
                "not found: is this a Doorstep server?",
                "未找到：服务器地址是否正确？",
                false,
            ),
            413 => refused(ErrorCode::TooLarge, "request too large", "请求过大", false),
            429 => refused(ErrorCode::TooManyAttempts, "too many attempts", "尝试次数过多", true),
            400..=499 => refused(ErrorCode::BadRequest, "bad request", "请求无效", false),
            _ => SyncError::Network { message: format!("server error (HTTP {status})"), retryable: true },
        }
    }

    /// Maps a transport failure (connect, timeout, cut body) to a retryable network error, or a refused
    /// certificate to `Untrusted`.
    pub fn from_transport(e: &reqwest::Error) -> Self {
        if let Some(untrusted) = super::trust::classify(e) {
            return untrusted;
        }
        let what = if e.is_connect() {
            "could not connect to the server"
        } else if e.is_timeout() {
            "the server did not answer in time"
        } else if e.is_builder() {
            return SyncError::Network { message: format!("bad server address: {e}"), retryable: false };
        } else {
            "the connection broke"
        };
        SyncError::Network { message: format!("{what}: {}", error_chain(e)), retryable: true }
    }

    /// A message for people, in Chinese and English.
    pub fn message_zh(&self) -> String {
        match self {
            SyncError::Untrusted { cause, .. } => cause.message_zh().into(),
            SyncError::NotSignedIn => "尚未登录服务器".into(),
            SyncError::Network { .. } => "网络不可用，数据已保存在本机，稍后自动重试".into(),
            SyncError::UpdateRequired { message_zh, .. } | SyncError::Refused { message_zh, .. } => message_zh.clone(),
            SyncError::Protocol(_) => "服务器应答异常".into(),
            SyncError::UnsyncedWork { user, pending, .. } => format!(
                "本机还有 {user} 的 {pending} 条更改未上传到服务器：请先以 {user} 登录并同步，或先移交（另存待导出）后再登录"
            ),
        }
    }
}

/// The code of a refusal as the API spells it (`out_of_scope`, `token_revoked`, …).
pub fn code_str(code: ErrorCode) -> String {
    serde_json::to_value(code).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    let mut depth = 0;
    while let (Some(s), true) = (source, depth < 8) {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
        depth += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: ErrorCode, retryable: bool) -> Vec<u8> {
        serde_json::to_vec(&ErrorBody {
            code,
            message_en: "m".into(),
            message_zh: "中".into(),
            retryable,
            doc_id: None,
        })
        .unwrap()
    }

    #[test]
    fn every_code_maps_to_a_typed_error() {
        use ErrorCode::*;
        for code in [
            BadRequest,
            Unauthorized,
            WrongPassword,
            TokenRevoked,
            AccountDisabled,
            Forbidden,
            OutOfScope,
            ForgedActor,
            TooLarge,
            TooManyAttempts,
            NotFound,
            HashMismatch,
            UploadOffset,
            BlobMissing,
            Unavailable,
            HouseholdUnknown,
            PasswordChangeRequired,
        ] {
            let e = SyncError::from_response(400, &body(code, false));
            assert_eq!(e.code(), Some(code), "{code:?}");
            assert_eq!(e.retryable(), matches!(code, TooManyAttempts | Unavailable | HouseholdUnknown), "{code:?}");
            assert!(e.to_string().contains(&code_str(code)), "{e}");
        }
        let e = SyncError::from_response(426, &body(UpdateRequired, false));
        assert!(matches!(e, SyncError::UpdateRequired { .. }));
        assert!(!e.retryable());
    }

    #[test]
    fn bodies_that_are_not_error_bodies_are_judged_by_status() {
        assert!(matches!(SyncError::from_response(426, b"<html>"), SyncError::UpdateRequired { .. }));
        assert_eq!(SyncError::from_response(413, b"").code(), Some(ErrorCode::TooLarge));
        assert!(SyncError::from_response(502, b"bad gateway").retryable());
        assert!(!SyncError::from_response(401, b"").retryable());
        assert_eq!(code_str(ErrorCode::OutOfScope), "out_of_scope");
    }
}
