//! The signed-in person's own account: choosing a new password (required after an admin reset it, possible at any
//! time).

use super::{form_map, redirect, PageError, Viewer};
use crate::accounts;
use crate::storage;
use axum::body::Bytes;
use axum::response::{Html, Response};
use minijinja::context;

/// `GET /password`.
pub async fn password_form(viewer: Viewer) -> Result<Html<String>, PageError> {
    let title = viewer.lang.texts()["change_password"];
    let ctx = context! {
        must_change => viewer.user.must_change_password,
        saved => viewer.query.contains_key("saved"),
        ..viewer.base(title)
    };
    viewer.render("password.html", ctx)
}

/// `POST /password`: the current password, then the new one twice.
pub async fn password_post(viewer: Viewer, body: Bytes) -> Result<Response, PageError> {
    let form = form_map(&body);
    viewer.check_csrf(&form)?;
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let (current, new, again) = (get("current"), get("new"), get("again"));
    if new != again {
        return Err(PageError::BadRequest(crate::message::Message::new(
            "new password: the two entries differ",
            "新密码：两次输入不一致",
        )));
    }
    let name = viewer.user.name.clone();
    storage::run(&viewer.state.storage, move |s| Ok(accounts::change_password(s, &name, &current, &new))).await??;
    Ok(redirect("/password?saved=1"))
}
