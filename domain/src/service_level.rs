//! Service-level promises: when an item's first response and resolution are due, and whether a
//! promise was met, broken, or is at risk now. Who may set an organisation's promises.
//!
//! A promise counts from the local day the item was created: "one working day" for a fault
//! reported on Friday afternoon means by the end of Monday (or Tuesday, if Monday is a public
//! holiday). Calendar-day promises count every day. Either way the deadline is the end of a
//! local day, because that is what people agree on.

use chrono::{DateTime, Days, Utc};
use talo_events_schema::envelope::ActorRole;
use talo_events_schema::register::StaffRole;
use talo_events_schema::service_level::{
    Milestone, PromiseUnit, ServiceLevelTarget, ServiceLevelTargetsSet, WorkProcess,
};

use crate::access::Principal;
use crate::calendar::{end_of_local_day, local_date};
use crate::decision::Decision;
use crate::rejection::Rejection;
use crate::working_days::add_working_days;

/// The longest promise: a year.
pub const MAX_PROMISE_DAYS: u32 = 365;

/// An organisation's promises as in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceLevels {
    pub targets: Vec<ServiceLevelTarget>,
    pub at_risk_percent: u32,
}

impl Default for ServiceLevels {
    /// What an organisation promises until it sets its own: the source documents' examples.
    fn default() -> Self {
        use Milestone::*;
        use PromiseUnit::*;
        use WorkProcess::*;
        let t = |process, milestone, amount, unit| ServiceLevelTarget {
            process,
            milestone,
            amount,
            unit,
        };
        ServiceLevels {
            targets: vec![
                t(FaultReport, FirstResponse, 1, WorkingDays),
                t(FaultReport, Resolution, 14, CalendarDays),
                t(MessageThread, FirstResponse, 2, WorkingDays),
                t(MessageThread, Resolution, 10, WorkingDays),
                t(ServiceRequest, FirstResponse, 2, WorkingDays),
                t(ServiceRequest, Resolution, 10, WorkingDays),
                t(Renovation, FirstResponse, 5, WorkingDays),
                t(Renovation, Resolution, 30, CalendarDays),
            ],
            at_risk_percent: 25,
        }
    }
}

impl ServiceLevels {
    pub fn from_event(e: &ServiceLevelTargetsSet) -> Self {
        ServiceLevels {
            targets: e.targets.clone(),
            at_risk_percent: e.at_risk_percent,
        }
    }

    pub fn target(&self, process: WorkProcess, milestone: Milestone) -> Option<ServiceLevelTarget> {
        self.targets
            .iter()
            .find(|t| t.process == process && t.milestone == milestone)
            .copied()
    }

    /// When `milestone` of an item of `process` created at `created_at` is due, if promised.
    pub fn due(
        &self,
        process: WorkProcess,
        milestone: Milestone,
        created_at: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        self.target(process, milestone).map(|t| due(&t, created_at))
    }
}

/// The deadline of a promise for an item created at `created_at`.
pub fn due(target: &ServiceLevelTarget, created_at: DateTime<Utc>) -> DateTime<Utc> {
    let created_on = local_date(created_at);
    let last_day = match target.unit {
        PromiseUnit::WorkingDays => add_working_days(created_on, target.amount),
        PromiseUnit::CalendarDays => created_on + Days::new(u64::from(target.amount)),
    };
    end_of_local_day(last_day)
}

/// How a promise stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PromiseState {
    /// Open, with time to spare.
    OnTrack,
    /// Open, and less than the at-risk share of the allowed time remains.
    AtRisk,
    /// Done before the deadline.
    Met,
    /// Done after the deadline, or still open past it.
    Breached,
}

/// How the promise due at `due` for an item created at `created_at` stands at `now`, given
/// when the milestone was reached (if it was by `now`).
pub fn assess(
    created_at: DateTime<Utc>,
    due: DateTime<Utc>,
    reached_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    at_risk_percent: u32,
) -> PromiseState {
    match reached_at.filter(|r| *r <= now) {
        Some(r) if r < due => PromiseState::Met,
        Some(_) => PromiseState::Breached,
        None if now >= due => PromiseState::Breached,
        None => {
            let allowed = (due - created_at).num_seconds().max(1);
            let remaining = (due - now).num_seconds();
            if remaining * 100 < allowed * i64::from(at_risk_percent) {
                PromiseState::AtRisk
            } else {
                PromiseState::OnTrack
            }
        }
    }
}

/// Sets the organisation's promises. Only a property manager for the whole organisation may:
/// they are the organisation's word to every resident.
pub fn set(principal: &Principal, command: ServiceLevelTargetsSet) -> Result<Decision, Rejection> {
    principal.refuse_auditor()?;
    if !principal.is_organisation_wide(StaffRole::PropertyManager) {
        return Err(Rejection::forbidden(
            "service_level.forbidden",
            "only a property manager for the whole organisation sets its service levels",
        ));
    }
    for (i, t) in command.targets.iter().enumerate() {
        if t.amount == 0 || t.amount > MAX_PROMISE_DAYS {
            return Err(Rejection::invalid(
                "targets.amount",
                "service_level.amount",
                format_args!(
                    "target {i}: must be 1-{MAX_PROMISE_DAYS} days, not {}",
                    t.amount
                ),
            ));
        }
        let repeated = command.targets[..i]
            .iter()
            .any(|o| o.process == t.process && o.milestone == t.milestone);
        if repeated {
            return Err(Rejection::invalid(
                "targets",
                "service_level.duplicate",
                format_args!("target {i}: one promise per process and milestone"),
            ));
        }
    }
    if !(1..=99).contains(&command.at_risk_percent) {
        return Err(Rejection::invalid(
            "atRiskPercent",
            "service_level.at_risk_percent",
            format_args!("must be 1-99, not {}", command.at_risk_percent),
        ));
    }
    Ok(Decision {
        events: vec![command.into()],
        role: ActorRole::PropertyManager,
    })
}
