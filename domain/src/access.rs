//! Who is acting: a person's relationships to the organisation on a given day, read from the
//! register. Every permission rule asks a [`Principal`]; the token only says who the person is.

use chrono::NaiveDate;
use talo_events_schema::envelope::{ActorRole, Channel};
use talo_events_schema::register::{BoardRole, ContractKind, StaffRole, StaffScope};
use uuid::Uuid;

use crate::rejection::Rejection;

/// An apartment the person holds an active contract on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    pub apartment_id: Uuid,
    pub property_id: Uuid,
    pub kind: ContractKind,
    /// The first day of the contract: an occupant sees the apartment's reports from then on,
    /// not those of earlier occupants.
    pub since: NaiveDate,
}

impl Home {
    pub fn role(&self) -> ActorRole {
        match self.kind {
            ContractKind::Lease => ActorRole::Resident,
            ContractKind::Shareholding => ActorRole::Shareholder,
        }
    }
}

/// An active staff assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffGrant {
    pub role: StaffRole,
    pub scope: StaffScope,
    pub contractor_company_id: Option<Uuid>,
}

impl StaffGrant {
    fn covers(&self, property_id: Uuid) -> bool {
        match self.scope {
            StaffScope::Organisation => true,
            StaffScope::Property { property_id: p } => p == property_id,
        }
    }
}

/// The roles that run the organisation's properties (isännöinti and asiakaspalvelu).
pub const OFFICE_ROLES: [StaffRole; 3] = [
    StaffRole::PropertyManager,
    StaffRole::TechnicalManager,
    StaffRole::CustomerService,
];

/// A person as the organisation knows them on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub person_id: Uuid,
    pub organisation_id: Uuid,
    pub homes: Vec<Home>,
    pub board_seats: Vec<(Uuid, BoardRole)>,
    /// Properties on whose resident committee the person sits.
    pub committees: Vec<Uuid>,
    pub staff: Vec<StaffGrant>,
}

impl Principal {
    /// The role under which the person may act as an occupant of the apartment.
    pub fn home_role(&self, apartment_id: Uuid) -> Option<ActorRole> {
        self.homes
            .iter()
            .find(|h| h.apartment_id == apartment_id)
            .map(Home::role)
    }

    /// The role under which the person sees an apartment's records from `day` on: as an
    /// occupant whose contract began on or before that day (a new tenant does not see the
    /// previous tenant's affairs), or as any current occupant if `named` (the record is theirs).
    pub fn occupant_role_since(
        &self,
        apartment_id: Uuid,
        day: NaiveDate,
        named: bool,
    ) -> Option<ActorRole> {
        self.homes
            .iter()
            .find(|h| h.apartment_id == apartment_id && (named || h.since <= day))
            .map(Home::role)
    }

    /// The role under which the person may act as an occupant somewhere in the property.
    pub fn occupant_role_in(&self, property_id: Uuid) -> Option<ActorRole> {
        self.homes
            .iter()
            .find(|h| h.property_id == property_id)
            .map(Home::role)
    }

    /// The first of `roles` the person holds for the property, as the role to record.
    pub fn staff_role_for(&self, property_id: Uuid, roles: &[StaffRole]) -> Option<ActorRole> {
        roles.iter().find_map(|wanted| {
            self.staff
                .iter()
                .any(|g| g.role == *wanted && g.covers(property_id))
                .then(|| staff_actor_role(*wanted))
        })
    }

    /// An office role (manager, technical manager, customer service) for the property.
    pub fn office_role_for(&self, property_id: Uuid) -> Option<ActorRole> {
        self.staff_role_for(property_id, &OFFICE_ROLES)
    }

    /// Holds an office role for the whole organisation: their office serves every property.
    pub fn is_office_everywhere(&self) -> bool {
        OFFICE_ROLES
            .iter()
            .any(|&role| self.is_organisation_wide(role))
    }

    pub fn is_organisation_wide(&self, role: StaffRole) -> bool {
        self.staff
            .iter()
            .any(|g| g.role == role && g.scope == StaffScope::Organisation)
    }

    /// Whether the person may read the property's register card (details and contacts): its
    /// office staff and auditors, and those who live in it, own in it or sit on its board.
    pub fn sees_property(&self, property_id: Uuid) -> bool {
        self.office_role_for(property_id).is_some()
            || self.is_auditor()
            || self.occupant_role_in(property_id).is_some()
            || self.board_seats.iter().any(|(p, _)| *p == property_id)
    }

    /// Works in an office role (manager, technical manager, customer service) anywhere.
    pub fn is_office_staff(&self) -> bool {
        self.staff.iter().any(|g| OFFICE_ROLES.contains(&g.role))
    }

    pub fn is_auditor(&self) -> bool {
        self.staff.iter().any(|g| g.role == StaffRole::Auditor)
    }

    /// Refuses a person whose only standing is auditor: auditors read and change nothing.
    pub fn refuse_auditor(&self) -> Result<(), Rejection> {
        let only_auditor = self.is_auditor()
            && self.homes.is_empty()
            && self.staff.iter().all(|g| g.role == StaffRole::Auditor);
        if only_auditor {
            return Err(auditor_read_only());
        }
        Ok(())
    }

    /// Contractor companies the person works for.
    pub fn contractor_companies(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.staff
            .iter()
            .filter(|g| g.role == StaffRole::ContractorWorker)
            .filter_map(|g| g.contractor_company_id)
    }

    pub fn works_for(&self, contractor_company_id: Uuid) -> bool {
        self.contractor_companies()
            .any(|c| c == contractor_company_id)
    }

    /// Every role the person holds, for display ("what can I do here").
    pub fn roles(&self) -> Vec<ActorRole> {
        let mut roles: Vec<ActorRole> = self.homes.iter().map(Home::role).collect();
        roles.extend(self.board_seats.iter().map(|(_, r)| match r {
            BoardRole::Member => ActorRole::BoardMember,
            BoardRole::Chair => ActorRole::BoardChair,
        }));
        if !self.committees.is_empty() {
            roles.push(ActorRole::ResidentCommittee);
        }
        roles.extend(self.staff.iter().map(|g| staff_actor_role(g.role)));
        let mut unique = Vec::new();
        for r in roles {
            if !unique.contains(&r) {
                unique.push(r);
            }
        }
        unique
    }
}

/// The refusal of anything an auditor tries to change.
pub fn auditor_read_only() -> Rejection {
    Rejection::forbidden(
        "auditor.read_only",
        "auditors read the history and change nothing",
    )
}

/// Whether a contact the office records on a resident's behalf came through a channel that
/// says how the resident got in touch: phone, email or a visit to the office.
pub fn is_on_behalf_channel(channel: Channel) -> bool {
    matches!(channel, Channel::Phone | Channel::Email | Channel::Office)
}

pub fn staff_actor_role(role: StaffRole) -> ActorRole {
    match role {
        StaffRole::PropertyManager => ActorRole::PropertyManager,
        StaffRole::TechnicalManager => ActorRole::TechnicalManager,
        StaffRole::CustomerService => ActorRole::CustomerService,
        StaffRole::ContractorWorker => ActorRole::Contractor,
        StaffRole::Auditor => ActorRole::Auditor,
    }
}

/// The facts about a resident's case (a fault report, a service request, a message thread)
/// that decide who may see it, as both sides keep them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseAccess {
    pub property_id: Uuid,
    pub apartment_id: Option<Uuid>,
    pub reporter_id: Uuid,
    pub reported_on: NaiveDate,
    pub contractor_company_id: Option<Uuid>,
}

/// How a person sees a case: residents see shared notes only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// A current occupant: the reporter, or someone whose contract on the apartment began on
    /// or before the day it was reported.
    Occupant(ActorRole),
    /// The reporter after moving out: may read the report (it is their receipt), not act on it.
    PastReporter,
    /// An office role for the property.
    Office(ActorRole),
    /// A worker of the contractor the report is assigned to.
    Contractor,
    Auditor,
}

impl Viewer {
    pub fn sees_internal_notes(self) -> bool {
        !matches!(self, Viewer::Occupant(_) | Viewer::PastReporter)
    }

    /// Sees the reporter's contact details (phone, pets): the reporter and those who act on
    /// the report, not the apartment's other occupants.
    pub fn sees_contact_details(self, is_reporter: bool) -> bool {
        is_reporter
            || matches!(
                self,
                Viewer::Office(_) | Viewer::Contractor | Viewer::Auditor
            )
    }

    pub fn role(self) -> ActorRole {
        match self {
            Viewer::PastReporter => ActorRole::Resident,
            Viewer::Occupant(r) | Viewer::Office(r) => r,
            Viewer::Contractor => ActorRole::Contractor,
            Viewer::Auditor => ActorRole::Auditor,
        }
    }
}

/// Whether and how `principal` may see a case. Office roles come first: a manager who also
/// lives in the building sees it as staff.
pub fn case_viewer(principal: &Principal, report: &CaseAccess) -> Option<Viewer> {
    if let Some(role) = principal.office_role_for(report.property_id) {
        return Some(Viewer::Office(role));
    }
    if report
        .contractor_company_id
        .is_some_and(|c| principal.works_for(c))
    {
        return Some(Viewer::Contractor);
    }
    let is_reporter = report.reporter_id == principal.person_id;
    let occupant_role = match report.apartment_id {
        // A new tenant does not see the previous tenant's cases.
        Some(apartment) => {
            principal.occupant_role_since(apartment, report.reported_on, is_reporter)
        }
        None if is_reporter => principal.occupant_role_in(report.property_id),
        None => None,
    };
    if let Some(role) = occupant_role {
        return Some(Viewer::Occupant(role));
    }
    if is_reporter {
        return Some(Viewer::PastReporter);
    }
    if principal.is_auditor() {
        return Some(Viewer::Auditor);
    }
    None
}
