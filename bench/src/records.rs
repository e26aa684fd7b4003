//! The records the scenarios write: the demo county's generators (`doorstep_server::demo::generate`) for households
//! and visits and the core's samples for screenings, so nothing is generated a second way.

use chrono::{Duration, NaiveDate};
use doorstep_core::doc::{Author, Document};
use doorstep_core::model::{new_id, samples, AlertLevel, Household, Screening, Visit};
use doorstep_core::sync::protocol::WireChange;
use doorstep_server::demo::generate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The benchmark's "today".
pub fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

/// A seeded generator: every run writes the same county.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// `n` households of a helper, spread over villages from `first_village` on (100 a village), naming the helper.
pub fn households(rng: &mut StdRng, helper: &str, first_village: usize, n: usize) -> Vec<Household> {
    let today = today();
    (0..n)
        .map(|i| {
            let mut h = generate::household(rng, first_village + i / 100, i % 100, today);
            h.helper_ids = vec![helper.to_string()];
            // A red alert needs a senior second helper, an account the benchmarks do not create: yellow instead.
            if h.alert_level == Some(AlertLevel::Red) {
                h.alert_level = Some(AlertLevel::Yellow);
                for change in &mut h.alert_history {
                    change.level = Some(AlertLevel::Yellow);
                }
            }
            h
        })
        .collect()
}

/// A monthly helper visit of `h`, dated within the past year.
pub fn visit(rng: &mut StdRng, h: &Household, helper: &str) -> Visit {
    let today = today();
    let date = today - Duration::days(rng.random_range(0..360));
    generate::visit(rng, h, helper, date, today)
}

/// `n` visits over `households`, round robin (a year of monthly visits when `n` is 12 per household).
pub fn visits(rng: &mut StdRng, households: &[Household], helper: &str, n: usize) -> Vec<Visit> {
    (0..n).map(|i| visit(rng, &households[i % households.len()], helper)).collect()
}

/// A screening of a member of `h` (the core's sample readings, on the household's member).
pub fn screening(rng: &mut StdRng, h: &Household, screener: &str) -> Screening {
    let mut s = samples::screening();
    s.id = new_id();
    s.household_id = h.id.clone();
    s.member_id = h.members.keys().next().cloned().unwrap_or_else(new_id);
    s.screener = screener.to_string();
    s.date = (today() - Duration::days(rng.random_range(0..300))).format("%Y-%m-%d").to_string();
    s.systolic = Some(f64::from(rng.random_range(105..165)));
    s
}

/// The change that creates each record's document, made by `actor` as a device would, ready for a push.
pub fn creation_changes<R: doorstep_core::model::Record>(
    records: &[R],
    actor: &automerge::ActorId,
    author: &Author,
) -> crate::Res<Vec<WireChange>> {
    let now = doorstep_core::store::now_ms();
    records
        .iter()
        .map(|r| {
            let (_, change) = Document::create(r, actor, author, now)?;
            Ok(WireChange { doc_id: r.id().to_string(), kind: R::KIND.code().to_string(), bytes: change.bytes })
        })
        .collect()
}
