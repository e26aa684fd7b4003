//! Who may see and write which documents: the role rules of DOMAIN.md, decided in one place from plain data.
//!
//! - helper: households assigned to them (and those households' visits and screenings); a new household they push
//!   is theirs when its `helper_ids` names them;
//! - doctor: households in their team's villages;
//! - supervisor: their area (townships and villages);
//! - inspector: villages granted to them, until the grant's expiry date (inclusive);
//! - admin: everything.
//!
//! Visits and screenings follow their household. The schedule-rules document is readable by all and writable by
//! supervisors and admins.

use crate::storage::{Area, Placement, ScopeFacts, Visibility};
use doorstep_core::model::{DocKind, Role, SCHEDULE_RULES_ID};

/// One account's scope at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub user: String,
    pub role: Role,
    pub visible: Visibility,
}

impl Scope {
    /// The scope of `user` with `role` from the stored assignments, on `today` (`YYYY-MM-DD`, for grant expiry).
    pub fn new(user: &str, role: Role, facts: ScopeFacts, today: &str) -> Self {
        let mut visible = Visibility::default();
        match role {
            Role::Admin => visible.all = true,
            Role::Helper => visible.households = facts.households,
            Role::Doctor => visible.villages = facts.team_villages,
            Role::Supervisor => {
                for area in facts.areas {
                    match area {
                        Area::Township(t) => visible.townships.insert(t),
                        Area::Village(v) => visible.villages.insert(v),
                    };
                }
            }
            Role::Inspector => {
                visible.villages =
                    facts.grants.into_iter().filter(|g| g.until.as_str() >= today).map(|g| g.village).collect();
            }
        }
        Self { user: user.to_string(), role, visible }
    }

    /// Whether a document with this placement is readable.
    pub fn sees(&self, doc_id: &str, p: &Placement) -> bool {
        self.visible.sees(doc_id, p)
    }

    /// Whether this account may write a document that is placed at `before` (None: new) and at `after` once the
    /// push is applied. `helpers` are the `helper_ids` of a household after the push.
    pub fn may_write(
        &self,
        doc_id: &str,
        kind: DocKind,
        before: Option<&Placement>,
        after: &Placement,
        helpers: &[String],
    ) -> bool {
        if kind == DocKind::Rules || doc_id == SCHEDULE_RULES_ID {
            return doc_id == SCHEDULE_RULES_ID && matches!(self.role, Role::Supervisor | Role::Admin);
        }
        let before_ok = before.is_none_or(|b| self.sees(doc_id, b));
        let after_ok = self.sees(doc_id, after)
            || (kind == DocKind::Household
                && before.is_none()
                && self.role == Role::Helper
                && helpers.iter().any(|h| h == &self.user));
        before_ok && after_ok
    }

    /// Adds a household to what this scope sees (a helper's new household, within the same push).
    pub fn add_household(&mut self, id: &str) {
        if self.role == Role::Helper {
            self.visible.households.insert(id.to_string());
        }
    }
}

impl Visibility {
    /// Whether a document with this placement is readable (the rule of [`Scope::sees`], also used on the plain
    /// visibility a pull carries).
    pub fn sees(&self, doc_id: &str, p: &Placement) -> bool {
        self.all
            || doc_id == SCHEDULE_RULES_ID
            || p.household_id.as_ref().is_some_and(|h| self.households.contains(h))
            || (!p.village.is_empty() && self.villages.contains(&p.village))
            || (!p.township.is_empty() && self.townships.contains(&p.township))
    }
}

/// Today's date on the server, for grant expiry.
pub fn today() -> String {
    chrono::Local::now().date_naive().format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Grant;

    fn place(h: &str, v: &str, t: &str) -> Placement {
        Placement { household_id: Some(h.into()), village: v.into(), township: t.into() }
    }

    #[test]
    fn helper_sees_assigned_households_and_may_create_their_own() {
        let facts = ScopeFacts { households: ["h1".to_string()].into(), ..Default::default() };
        let s = Scope::new("ann", Role::Helper, facts, "2026-01-01");
        assert!(s.sees("h1", &place("h1", "v", "t")));
        assert!(s.sees("visit", &place("h1", "v", "t")));
        assert!(!s.sees("h2", &place("h2", "v", "t")));
        assert!(s.sees(SCHEDULE_RULES_ID, &Placement::default()));
        let new = place("h2", "v", "t");
        assert!(s.may_write("h2", DocKind::Household, None, &new, &["ann".into()]));
        assert!(!s.may_write("h2", DocKind::Household, None, &new, &["bob".into()]));
        assert!(!s.may_write("h2", DocKind::Household, Some(&new), &new, &["ann".into()]), "not theirs yet");
        assert!(!s.may_write(SCHEDULE_RULES_ID, DocKind::Rules, None, &Placement::default(), &[]));
    }

    #[test]
    fn doctor_supervisor_inspector_and_admin() {
        let doc = Scope::new(
            "d",
            Role::Doctor,
            ScopeFacts { team_villages: ["v1".to_string()].into(), ..Default::default() },
            "2026-01-01",
        );
        assert!(doc.sees("x", &place("h", "v1", "t")));
        assert!(!doc.sees("x", &place("h", "v2", "t")));
        assert!(!doc.may_write("x", DocKind::Household, Some(&place("h", "v1", "t")), &place("h", "v2", "t"), &[]));

        let sup = Scope::new(
            "s",
            Role::Supervisor,
            ScopeFacts { areas: vec![Area::Township("t1".into())], ..Default::default() },
            "2026-01-01",
        );
        assert!(sup.sees("x", &place("h", "any", "t1")));
        assert!(sup.may_write(SCHEDULE_RULES_ID, DocKind::Rules, None, &Placement::default(), &[]));

        let grants = vec![
            Grant { user: "i".into(), village: "v1".into(), until: "2026-01-01".into() },
            Grant { user: "i".into(), village: "v2".into(), until: "2025-12-31".into() },
        ];
        let insp = Scope::new("i", Role::Inspector, ScopeFacts { grants, ..Default::default() }, "2026-01-01");
        assert!(insp.sees("x", &place("h", "v1", "t")), "valid through its last day");
        assert!(!insp.sees("x", &place("h", "v2", "t")), "expired");

        let admin = Scope::new("a", Role::Admin, ScopeFacts::default(), "2026-01-01");
        assert!(admin.sees("x", &place("h", "v9", "t9")));
    }
}
