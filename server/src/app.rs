//! The whole application: the routes of the API (`api`), the blob API (`blob_api`) and the pages (`web`), and the
//! layers around all of them (body limits, error bodies, compression, tracing). The one module that knows them all.

use crate::http::{ApiError, AppState};
use crate::reports::Reports;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header::{ACCEPT_RANGES, CONTENT_TYPE};
use axum::http::{Extensions, HeaderMap, StatusCode, Version};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use doorstep_core::sync::protocol;
use std::sync::Arc;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

/// The whole application: the API, the pages (`web::router`) and the layers around both. The pages read reports
/// from `reports` (PostgreSQL's), or from SQLite's file in the data directory when `None`; inside a Tokio runtime
/// their overview figures are counted in the background from the start.
pub fn router(state: AppState, reports: Option<Arc<dyn Reports>>) -> Router {
    let web = Arc::new(crate::web::Web::new(reports));
    web.count_in_background(&state);
    let max_body = state.config.max_body;
    let compress =
        DefaultPredicate::new().and(NotForContentType::const_new(protocol::CONTENT_TYPE)).and(not_for_byte_ranges);
    Router::new()
        .merge(crate::api::routes())
        .merge(crate::blob_api::routes())
        .merge(crate::web::router(web))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(middleware::from_fn(json_errors))
        .layer(CompressionLayer::new().compress_when(compress))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Keeps compression off every answer that offers byte ranges: the blob downloads of the API and the pages'
/// `/attachment` routes (a PDF or SVG would otherwise be gzipped for a client accepting it, losing `Accept-Ranges`
/// and its length, so a download cut half-way could not resume with a `Range` on the same bytes).
fn not_for_byte_ranges(_: StatusCode, _: Version, headers: &HeaderMap, _: &Extensions) -> bool {
    !headers.contains_key(ACCEPT_RANGES)
}

/// Gives every error answer under `/api/` an `ErrorBody`, including those of layers and extractors (413 of the
/// body limit, 404, 405, keeping their status), gives the pages' bare ones a message page, and turns any 500 into
/// a retryable 503.
async fn json_errors(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response.headers().get(CONTENT_TYPE).map(|v| v.as_bytes().to_vec()).unwrap_or_default();
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        return ApiError::from_status(status).into_response();
    }
    if api && !content_type.starts_with(b"application/json") {
        let mut r = ApiError::from_status(status).into_response();
        *r.status_mut() = status;
        return r;
    }
    if !api && !content_type.starts_with(b"text/html") && !content_type.starts_with(b"text/csv") {
        return crate::web::error_page(status);
    }
    response
}
