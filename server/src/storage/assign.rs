//! Who is given what (a helper a household, a team a village, a supervisor an area, an inspector a village for a
//! while), and the rule that goes with it, decided once for every store: a new link records a scope event (the
//! account's devices are then sent what entered their scope), a removed one records a scope loss (they are told
//! to wipe it). The stores only add and remove the rows (`WriteTx::link`, `WriteTx::unlink`).

use super::{Area, Grant, Link, Result, Storage, WriteTx};

/// Assignment commands over any store, each one unit of work.
pub trait Assign {
    /// Puts a helper in charge of households.
    fn assign_helper(&self, helper: &str, household_ids: &[String]) -> Result<()>;
    /// Takes households from a helper.
    fn unassign_helper(&self, helper: &str, household_ids: &[String]) -> Result<()>;
    /// Gives a doctor team villages.
    fn assign_team(&self, team: &str, villages: &[String]) -> Result<()>;
    /// Takes villages from a doctor team.
    fn unassign_team(&self, team: &str, villages: &[String]) -> Result<()>;
    /// Gives a supervisor townships or villages.
    fn assign_area(&self, user: &str, areas: &[Area]) -> Result<()>;
    /// Takes townships or villages from a supervisor.
    fn unassign_area(&self, user: &str, areas: &[Area]) -> Result<()>;
    /// Gives an inspector a village until a day, or renews the grant. Always a scope event: a renewed grant may
    /// follow an expired one, during which the devices missed changes.
    fn grant_inspector(&self, grant: &Grant) -> Result<()>;
}

/// Adds links; each new one is a scope event (a pushed household's helpers are assigned this way too).
pub fn add(tx: &mut dyn WriteTx, links: impl IntoIterator<Item = Link>) -> Result<()> {
    for link in links {
        if tx.link(&link)? || matches!(link, Link::Grant(_)) {
            tx.scope_event(&link.scope())?;
        }
    }
    Ok(())
}

/// Removes links; each one that was there is a scope loss.
pub fn remove(tx: &mut dyn WriteTx, links: impl IntoIterator<Item = Link>) -> Result<()> {
    for link in links {
        if tx.unlink(&link)? {
            tx.scope_loss(&link.scope())?;
        }
    }
    Ok(())
}

fn helper_links<'a>(helper: &'a str, ids: &'a [String]) -> impl Iterator<Item = Link> + 'a {
    ids.iter().map(move |h| Link::Helper { helper: helper.into(), household: h.clone() })
}

fn team_links<'a>(team: &'a str, villages: &'a [String]) -> impl Iterator<Item = Link> + 'a {
    villages.iter().map(move |v| Link::Team { team: team.into(), village: v.clone() })
}

fn area_links<'a>(user: &'a str, areas: &'a [Area]) -> impl Iterator<Item = Link> + 'a {
    areas.iter().map(move |a| Link::Area { user: user.into(), area: a.clone() })
}

impl<S: Storage + ?Sized> Assign for S {
    fn assign_helper(&self, helper: &str, household_ids: &[String]) -> Result<()> {
        self.write(&mut |tx| {
            tx.require_user(helper)?;
            add(tx, helper_links(helper, household_ids))
        })
    }

    fn unassign_helper(&self, helper: &str, household_ids: &[String]) -> Result<()> {
        self.write(&mut |tx| {
            tx.require_user(helper)?;
            remove(tx, helper_links(helper, household_ids))
        })
    }

    fn assign_team(&self, team: &str, villages: &[String]) -> Result<()> {
        self.write(&mut |tx| add(tx, team_links(team, villages)))
    }

    fn unassign_team(&self, team: &str, villages: &[String]) -> Result<()> {
        self.write(&mut |tx| remove(tx, team_links(team, villages)))
    }

    fn assign_area(&self, user: &str, areas: &[Area]) -> Result<()> {
        self.write(&mut |tx| {
            tx.require_user(user)?;
            add(tx, area_links(user, areas))
        })
    }

    fn unassign_area(&self, user: &str, areas: &[Area]) -> Result<()> {
        self.write(&mut |tx| {
            tx.require_user(user)?;
            remove(tx, area_links(user, areas))
        })
    }

    fn grant_inspector(&self, grant: &Grant) -> Result<()> {
        self.write(&mut |tx| {
            tx.require_user(&grant.user)?;
            add(tx, [Link::Grant(grant.clone())])
        })
    }
}
