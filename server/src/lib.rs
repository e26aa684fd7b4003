//! doorstep-server: stores what devices push, enforces scope, and serves supervisors' pages. One binary.
//!
//! Where to look:
//! - `main.rs`: the command line (`user`, `assign`, `grant`, `device`, `rules`, `serve`), parsing and printing only;
//! - `accounts`: what the administration commands do, with their checks and the audit log;
//! - `config`: settings of a running server;
//! - `storage`: the storage traits and their plain types, one directory per database (`storage::sqlite` the
//!   embedded store, `storage::postgres` the shared one), the SQL both share (`sql`) and the assignment rule
//!   (`assign`);
//! - `auth`: passwords (argon2id), device tokens, the login attempt limiter;
//! - `scope`: who may see and write which documents;
//! - `sync`: a sync round trip — push as one unit of work, pull cut into pages;
//! - `blobs`: attachment bytes on disk (chunked, resumable, verified uploads; range reads; thumbnails);
//! - `blob_api`: the blob endpoints (upload status, chunked upload, ranged download), scope-checked;
//! - `lookup`: the console's look-ups (households, an account, places, devices), times as local dates;
//! - `message`: a message in English and Chinese (refusals shown on pages and the console);
//! - `places`: townships and villages as data, and the checks that refuse unknown places, households and users;
//! - `http`: what every HTTP handler shares: `AppState`, `ApiError` (every failure becomes a status and an
//!   `ErrorBody` there), the client address, token and password checks;
//! - `api`: the sync API's routes (login, sync, health, OpenAPI);
//! - `app`: the whole router — `api`, `blob_api` and `web` — with its layers;
//! - `reports`: what the pages read — a snapshot made once from the reads each store answers, cached;
//! - `web`: the supervisors' pages, merged into the same router;
//! - `tls`: the optional HTTPS listener of `serve --tls-cert/--tls-key`.
//!
//! See `docs/server.md` for the design and `docs/protocol.md` for the wire format.

pub mod accounts;
pub mod api;
pub mod app;
pub mod auth;
pub mod blob_api;
pub mod blobs;
pub mod config;
pub mod demo;
pub mod documents;
pub mod http;
pub mod lookup;
pub mod message;
pub mod places;
pub mod reports;
pub mod scope;
pub mod storage;
pub mod sync;
pub mod tls;
pub mod web;
