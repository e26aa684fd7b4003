//! Documents syncing at full speed while a large photo backlog is pending (issue 10's acceptance line).
//!
//! TODO(attachments): measure it once the attachment API (blob store beside the device store, blob upload after
//! the documents) is in the core: record photos for many visits, then time a sync of new visit documents with the
//! photo backlog pending against the same sync without it. Until then this slot reports that it was not measured.

use crate::report::Row;
use crate::{Ctx, Res};

pub async fn run(_ctx: &Ctx) -> Res<Vec<Row>> {
    Ok(vec![Row::new(
        "documents sync while a photo backlog is pending",
        "not measured yet: the attachment API is not in the core (TODO slot `attachments`)".into(),
    )])
}
