//! The black-box harness: Talo in process on a temporary directory with a manual clock, the
//! demo organisation(s) seeded, and GraphQL requests sent through the router with `oneshot`
//! (no port is bound). Each test file under `tests/` covers one concern.

use std::sync::Arc;

pub mod hooked_store;
pub use hooked_store::{HookedStore, LaggingFeed, StoreHooks};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Duration, TimeZone, Utc};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use talo_api::clock::ManualClock;
use talo_api::demo::{self, DemoOrganisation};
use talo_api::{Config, Talo, app};
use tempfile::TempDir;
use tower::ServiceExt;
use uuid::Uuid;

/// Monday 2 March 2026, 08:00 UTC (10:00 in Helsinki): where every test's clock starts.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
}

pub struct TestServer {
    pub talo: Arc<Talo>,
    router: Router,
    pub dir: Arc<TempDir>,
    pub clock: ManualClock,
    /// The demo organisations, first `Isännöinti Yksi Oy`, then (if asked) `Isännöinti Kaksi Oy`.
    pub orgs: Vec<DemoOrganisation>,
    read_your_writes_timeout: std::time::Duration,
    /// The outbox's transport when notifications are on; a restart keeps them on.
    notifications: Option<Arc<dyn talo_api::notifier::Transport>>,
}

impl TestServer {
    /// One demo organisation.
    pub async fn start() -> Self {
        Self::start_with(1).await
    }

    /// Two demo organisations in one store.
    pub async fn with_two_organisations() -> Self {
        Self::start_with(2).await
    }

    /// One demo organisation; mutations wait at most `timeout` for the read models.
    pub async fn with_read_your_writes_timeout(timeout: std::time::Duration) -> Self {
        let mut server = Self::start_with(1).await;
        server.read_your_writes_timeout = timeout;
        server.restart().await
    }

    /// One demo organisation on the embedded store seen through `wrap`, which may change how
    /// the store behaves (to stand in for another node writing at the same time, say).
    pub async fn on_store(
        wrap: impl FnOnce(Arc<dyn talo_store::EventStore>) -> Arc<dyn talo_store::EventStore>,
    ) -> Self {
        Self::on_wrapped_store(wrap, None).await
    }

    /// The embedded store in a new directory seen through `wrap`, the demo seeded, the outbox
    /// delivering through `notifications` if given.
    async fn on_wrapped_store(
        wrap: impl FnOnce(Arc<dyn talo_store::EventStore>) -> Arc<dyn talo_store::EventStore>,
        notifications: Option<Arc<dyn talo_api::notifier::Transport>>,
    ) -> Self {
        let dir = Arc::new(tempfile::tempdir().expect("temporary directory"));
        let clock = ManualClock::new(start_time());
        let sqlite = talo_store::SqliteEventStore::open(talo_store::SqliteOptions::new(
            dir.path().join("events.sqlite"),
        ))
        .expect("store opens");
        Self::seeded_on(dir, clock, wrap(Arc::new(sqlite)), notifications).await
    }

    /// Talo on `store` with the demo organisation seeded, the outbox delivering through
    /// `notifications` if given.
    async fn seeded_on(
        dir: Arc<TempDir>,
        clock: ManualClock,
        store: Arc<dyn talo_store::EventStore>,
        notifications: Option<Arc<dyn talo_api::notifier::Transport>>,
    ) -> Self {
        let mut config = config(&dir, &clock);
        config.notifications = notifications.is_some();
        config.notification_transport = notifications.clone();
        let talo = Talo::open_with_store(config, store)
            .await
            .expect("talo opens");
        let demo = demo::seed(&talo, "Isännöinti Yksi Oy", "1572860-0", clock.now_utc())
            .await
            .expect("demo seeds");
        TestServer {
            router: app(talo.clone()),
            talo,
            dir,
            clock,
            orgs: vec![demo],
            read_your_writes_timeout: std::time::Duration::from_secs(5),
            notifications,
        }
    }

    /// The demo organisation on a store that stamps `recorded_at` with the test's business
    /// clock, for what depends on the recording day (the hash chain's daily anchors).
    pub async fn recorded_by_the_test_clock() -> Self {
        let dir = Arc::new(tempfile::tempdir().expect("temporary directory"));
        let clock = ManualClock::new(start_time());
        let mut options = talo_store::SqliteOptions::new(dir.path().join("events.sqlite"));
        let recording = clock.clone();
        options.clock = talo_store::RecordingClock::new(move || recording.now_utc());
        let sqlite = talo_store::SqliteEventStore::open(options).expect("store opens");
        Self::seeded_on(dir, clock, Arc::new(sqlite), None).await
    }

    /// One demo organisation with the notification outbox delivering through `transport`.
    pub async fn with_notifications(transport: Arc<dyn talo_api::notifier::Transport>) -> Self {
        let dir = Arc::new(tempfile::tempdir().expect("temporary directory"));
        let clock = ManualClock::new(start_time());
        let timeout = std::time::Duration::from_secs(5);
        let talo = open(&dir, &clock, timeout, Some(transport.clone())).await;
        let demo = demo::seed(&talo, "Isännöinti Yksi Oy", "1572860-0", clock.now_utc())
            .await
            .expect("demo seeds");
        TestServer {
            router: app(talo.clone()),
            talo,
            dir,
            clock,
            orgs: vec![demo],
            read_your_writes_timeout: timeout,
            notifications: Some(transport),
        }
    }

    /// `with_notifications` on the embedded store seen through `wrap` (one that fails some
    /// reads, say).
    pub async fn with_notifications_on_store(
        transport: Arc<dyn talo_api::notifier::Transport>,
        wrap: impl FnOnce(Arc<dyn talo_store::EventStore>) -> Arc<dyn talo_store::EventStore>,
    ) -> Self {
        Self::on_wrapped_store(wrap, Some(transport)).await
    }

    /// Waits (up to ten seconds) until `check` holds: for work Talo does in the background.
    pub async fn eventually(&self, what: &str, mut check: impl FnMut() -> bool) {
        for _ in 0..200 {
            if check() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("gave up waiting for {what}");
    }

    /// Asserts that the work items folded from zero out of only the event types they name
    /// (`WorkItemsView::EVENT_TYPES`, what an auditor's past promises report reads) equal the
    /// live read model, which every event of the log reached: a type the list leaves out that
    /// changes an item shows here.
    pub async fn assert_work_items_rebuild_from_their_types(&self) {
        let head = self.talo.store.head().await.unwrap();
        let live = &self.talo.read_models.work_items;
        live.wait_for(head, std::time::Duration::from_secs(10))
            .await
            .expect("the work items catch up");
        let rebuilt: talo_projections::work_items::WorkItemsView =
            talo_projections::engine::build_from_zero(self.talo.store.as_ref(), head)
                .await
                .unwrap();
        assert!(
            *live.read() == rebuilt,
            "the work items folded from their types differ from the live ones"
        );
    }

    /// Runs a register command as Talo itself in the first organisation (moving people in and
    /// out, say), the way the demo seeding does.
    pub async fn register(&self, command: talo_domain::register::RegisterCommand) {
        let request = talo_api::dispatch::Request {
            caller: talo_api::auth::Caller {
                person_id: Uuid::nil(),
                organisation_id: self.org().organisation_id,
            },
            channel: talo_events_schema::envelope::Channel::System,
            occurred_at: self.clock.now_utc(),
            idempotency_key: None,
            correlation_id: Uuid::now_v7(),
        };
        self.talo
            .dispatcher
            .register(
                &request,
                talo_events_schema::envelope::Actor::SYSTEM,
                command,
            )
            .await
            .expect("register command");
    }

    /// A new person, `name`, on the staff of the first organisation as `role` for one
    /// property only; returns their person id.
    pub async fn staff_of_property(
        &self,
        name: &str,
        role: talo_events_schema::register::StaffRole,
        property_id: Uuid,
    ) -> Uuid {
        use talo_domain::register::RegisterCommand;
        use talo_events_schema::register::*;
        let person_id = Uuid::now_v7();
        self.register(RegisterCommand::RegisterPerson(PersonRegistered {
            person_id,
            name: name.into(),
            email: None,
            phone: None,
        }))
        .await;
        self.register(RegisterCommand::AssignStaff(StaffAssigned {
            assignment_id: Uuid::now_v7(),
            person_id,
            role,
            scope: StaffScope::Property { property_id },
            contractor_company_id: None,
        }))
        .await;
        person_id
    }

    /// A new person moves into `apartment` of the first organisation on a lease from today;
    /// returns their person id.
    pub async fn move_in(&self, apartment: Uuid) -> Uuid {
        use talo_domain::register::RegisterCommand;
        use talo_events_schema::register::*;
        let person_id = Uuid::now_v7();
        self.register(RegisterCommand::RegisterPerson(PersonRegistered {
            person_id,
            name: "Uusi Asukas".into(),
            email: None,
            phone: None,
        }))
        .await;
        self.register(RegisterCommand::SignContract(ContractSigned {
            contract_id: Uuid::now_v7(),
            apartment_id: apartment,
            person_id,
            kind: ContractKind::Lease,
            starts_on: self.today(),
            ends_on: None,
        }))
        .await;
        person_id
    }

    /// Every contract of `person` in the first organisation ends today: they move out.
    pub async fn move_out(&self, person: Uuid) {
        let contracts: Vec<Uuid> = {
            let view = self.talo.read_models.register.read();
            let register = view.organisation(self.org().organisation_id).unwrap();
            register
                .contracts
                .values()
                .filter(|c| c.person_id == person)
                .map(|c| c.contract_id)
                .collect()
        };
        for contract_id in contracts {
            self.register(talo_domain::register::RegisterCommand::EndContract(
                talo_events_schema::register::ContractEnded {
                    contract_id,
                    ends_on: self.today(),
                },
            ))
            .await;
        }
    }

    /// The first contract of a person in the first organisation (each demo role has one).
    pub fn contract_of_person(&self, person: Uuid) -> Uuid {
        let view = self.talo.read_models.register.read();
        let register = view.organisation(self.org().organisation_id).unwrap();
        register
            .contracts
            .values()
            .find(|c| c.person_id == person)
            .unwrap()
            .contract_id
    }

    /// The contract of a demo role's person.
    pub fn contract_of(&self, role: &str) -> Uuid {
        self.contract_of_person(self.org().person(role))
    }

    /// Today at the properties, by the test's clock.
    pub fn today(&self) -> chrono::NaiveDate {
        talo_domain::calendar::local_date(self.clock.now_utc())
    }

    /// A token for any person of the first organisation.
    pub fn token_for(&self, person_id: Uuid) -> String {
        let caller = talo_api::auth::Caller {
            person_id,
            organisation_id: self.org().organisation_id,
        };
        self.talo.keys.mint(caller, Utc::now(), Duration::days(1))
    }

    async fn start_with(organisations: usize) -> Self {
        let dir = Arc::new(tempfile::tempdir().expect("temporary directory"));
        let clock = ManualClock::new(start_time());
        let timeout = std::time::Duration::from_secs(5);
        let talo = open(&dir, &clock, timeout, None).await;
        let mut orgs = Vec::new();
        for (name, business_id) in [
            ("Isännöinti Yksi Oy", "1572860-0"),
            ("Isännöinti Kaksi Oy", "0737546-2"),
        ]
        .into_iter()
        .take(organisations)
        {
            orgs.push(
                demo::seed(&talo, name, business_id, clock.now_utc())
                    .await
                    .expect("demo seeds"),
            );
        }
        TestServer {
            router: app(talo.clone()),
            talo,
            dir,
            clock,
            orgs,
            read_your_writes_timeout: timeout,
            notifications: None,
        }
    }

    /// Stops cleanly (snapshots written, store closed) and starts again on the same directory.
    pub async fn restart(self) -> Self {
        self.talo.shutdown().await;
        self.reopen().await
    }

    /// Stops as a crash would (no final snapshots) and starts again on the same directory.
    pub async fn crash_and_restart(self) -> Self {
        self.talo.crash().await;
        self.reopen().await
    }

    /// Starts again on the same directory after the caller stopped Talo itself.
    pub async fn restart_without_shutdown(self) -> Self {
        self.reopen().await
    }

    async fn reopen(self) -> Self {
        let TestServer {
            talo,
            router,
            dir,
            clock,
            orgs,
            read_your_writes_timeout,
            notifications,
        } = self;
        drop(router);
        drop(talo);
        let talo = open(
            &dir,
            &clock,
            read_your_writes_timeout,
            notifications.clone(),
        )
        .await;
        TestServer {
            router: app(talo.clone()),
            talo,
            dir,
            clock,
            orgs,
            read_your_writes_timeout,
            notifications,
        }
    }

    /// A token for a demo role of the first organisation.
    pub fn token(&self, role: &str) -> String {
        self.token_in(0, role)
    }

    pub fn token_in(&self, org: usize, role: &str) -> String {
        // Token expiry is checked against the real clock, not the test's business clock.
        self.talo
            .keys
            .mint(self.orgs[org].caller(role), Utc::now(), Duration::days(1))
    }

    pub fn org(&self) -> &DemoOrganisation {
        &self.orgs[0]
    }

    pub fn apartment(&self, property: &str, code: &str) -> Uuid {
        self.orgs[0].apartments[&format!("{property}/{code}")]
    }

    /// Sends a GraphQL request as `token` (or anonymously).
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Gql {
        let body = json!({ "query": query, "variables": variables }).to_string();
        self.post_raw(token.map(|t| format!("Bearer {t}")).as_deref(), body)
            .await
    }

    /// Another node on the same log: its own data directory and read models (folding the
    /// log from the start), the same token secret and organisations. `wrap` may change how
    /// it sees the store (a slower feed, say).
    pub async fn second_node(
        &self,
        wrap: impl FnOnce(Arc<dyn talo_store::EventStore>) -> Arc<dyn talo_store::EventStore>,
    ) -> Self {
        let dir = Arc::new(tempfile::tempdir().expect("temporary directory"));
        std::fs::copy(
            self.dir.path().join("jwt-secret"),
            dir.path().join("jwt-secret"),
        )
        .expect("the first node's token secret");
        let mut config = config(&dir, &self.clock);
        config.read_your_writes_timeout = self.read_your_writes_timeout;
        let talo = Talo::open_with_store(config, wrap(self.talo.store.clone()))
            .await
            .expect("the second node opens");
        TestServer {
            router: app(talo.clone()),
            talo,
            dir,
            clock: self.clock.clone(),
            orgs: self.orgs.clone(),
            read_your_writes_timeout: self.read_your_writes_timeout,
            notifications: None,
        }
    }

    /// A second node on this node's store whose read models stop following the log while the
    /// flag is set ([`LaggingFeed`]).
    pub async fn lagging_second_node(&self) -> (Self, Arc<std::sync::atomic::AtomicBool>) {
        let held = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = held.clone();
        let second = self
            .second_node(move |inner| {
                Arc::new(HookedStore {
                    inner,
                    hooks: LaggingFeed { held: flag },
                })
            })
            .await;
        (second, held)
    }

    /// Sends a GraphQL request as `token` with extra headers.
    pub async fn gql_with_headers(
        &self,
        token: &str,
        headers: &[(&str, &[u8])],
        query: &str,
        variables: Value,
    ) -> Gql {
        let body = json!({ "query": query, "variables": variables }).to_string();
        let mut request = Request::post("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        for (name, value) in headers {
            request = request.header(
                *name,
                axum::http::HeaderValue::from_bytes(value).expect("a header value"),
            );
        }
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// Sends a GraphQL request as a demo role of the first organisation.
    /// Every node of the connection `field` that `query` (taking `$first` and `$after`)
    /// answers `role`, `first` at a time, checking each page's info and total on the way.
    pub async fn every_page(
        &self,
        role: &str,
        query: &str,
        field: &str,
        first: usize,
    ) -> Vec<Value> {
        let mut nodes = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let answer = self
                .as_role(
                    role,
                    query,
                    serde_json::json!({ "first": first, "after": after }),
                )
                .await;
            let page = &answer.data()[field];
            assert_eq!(
                page["pageInfo"]["hasPreviousPage"],
                after.is_some(),
                "{page:#}"
            );
            let on_page = page["nodes"].as_array().expect("nodes asked for");
            nodes.extend(on_page.iter().cloned());
            if page["pageInfo"]["hasNextPage"] == false {
                assert!(on_page.len() <= first, "{page:#}");
                assert_eq!(
                    page["totalCount"].as_u64(),
                    Some(nodes.len() as u64),
                    "{page:#}"
                );
                return nodes;
            }
            assert_eq!(
                on_page.len(),
                first,
                "only the last page is short: {page:#}"
            );
            after = Some(
                page["pageInfo"]["endCursor"]
                    .as_str()
                    .expect("a cursor")
                    .to_owned(),
            );
        }
    }

    /// Asserts that the list `query` (taking `$first` and `$after`) refuses, naming the field
    /// and the rule, a cursor no list gave and page sizes of 0 and one over the limit.
    pub async fn assert_list_refuses_stray_cursors_and_page_sizes(&self, role: &str, query: &str) {
        let stray = serde_json::json!({ "after": "k1:2026-03-02:123:not-an-id" });
        let stray = self.as_role(role, query, stray).await;
        stray.assert_refused("BAD_USER_INPUT", "page.cursor");
        assert_eq!(stray.body["errors"][0]["extensions"]["field"], "after");
        let max = self.talo.config.limits.max_page_size;
        for first in [0, max + 1] {
            let refused = self
                .as_role(role, query, serde_json::json!({ "first": first }))
                .await;
            refused.assert_refused("BAD_USER_INPUT", "page.size");
            assert_eq!(refused.body["errors"][0]["extensions"]["field"], "first");
        }
    }

    pub async fn as_role(&self, role: &str, query: &str, variables: Value) -> Gql {
        self.gql(Some(&self.token(role)), query, variables).await
    }

    /// Posts any body with any `Authorization` header to `/graphql`.
    pub async fn post_raw(&self, authorization: Option<&str>, body: String) -> Gql {
        let mut request =
            Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
        if let Some(a) = authorization {
            request = request.header(header::AUTHORIZATION, a);
        }
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    async fn send(&self, request: Request<Body>) -> Gql {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Gql { status, body }
    }

    /// A plain GET, for the operational endpoints.
    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .router
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }
}

async fn open(
    dir: &TempDir,
    clock: &ManualClock,
    read_your_writes_timeout: std::time::Duration,
    notifications: Option<Arc<dyn talo_api::notifier::Transport>>,
) -> Arc<Talo> {
    let mut config = config(dir, clock);
    config.read_your_writes_timeout = read_your_writes_timeout;
    config.notifications = notifications.is_some();
    config.notification_transport = notifications;
    Talo::open(config).await.expect("talo opens")
}

/// The configuration tests run with: the manual clock, and snapshots only at shutdown (never
/// on a timer), so what a restart finds does not depend on how fast the machine is.
pub fn config(dir: &TempDir, clock: &ManualClock) -> Config {
    let mut config = Config::new(dir.path());
    config.clock = Arc::new(clock.clone());
    // The outbox appends to the log on its own schedule; tests of it turn it on
    // (`TestServer::with_notifications`), others compare the log's head undisturbed.
    config.notifications = false;
    config.snapshots = talo_projections::engine::SnapshotPolicy {
        every_events: u64::MAX,
        every: std::time::Duration::from_secs(24 * 3600),
    };
    config
}

/// Reads the manual clock without importing the trait in every test.
pub trait NowUtc {
    fn now_utc(&self) -> DateTime<Utc>;
}

impl NowUtc for ManualClock {
    fn now_utc(&self) -> DateTime<Utc> {
        use talo_api::clock::Clock;
        self.now()
    }
}

/// A GraphQL answer.
#[derive(Debug)]
pub struct Gql {
    pub status: StatusCode,
    pub body: Value,
}

impl Gql {
    /// The data, asserting there were no errors.
    pub fn data(&self) -> &Value {
        assert!(
            self.body.get("errors").is_none_or(Value::is_null),
            "unexpected errors: {:#}",
            self.body
        );
        &self.body["data"]
    }

    /// The first error's `extensions.code`, asserting there was one.
    pub fn code(&self) -> &str {
        self.body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error, got {:#}", self.body))
    }

    /// The first error's `extensions.rule`.
    pub fn rule(&self) -> &str {
        self.body["errors"][0]["extensions"]["rule"]
            .as_str()
            .unwrap_or_else(|| panic!("expected a rule, got {:#}", self.body))
    }

    pub fn message(&self) -> &str {
        self.body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
    }

    /// Asserts the first error has this code (for refusals without a rule of their own).
    pub fn assert_refused_code(&self, code: &str) {
        assert_eq!(self.code(), code, "{:#}", self.body);
    }

    /// Asserts the first error has this code and rule.
    pub fn assert_refused(&self, code: &str, rule: &str) {
        assert_eq!((self.code(), self.rule()), (code, rule), "{:#}", self.body);
    }
}

/// GraphQL operations used across tests.
pub mod ops {
    pub const REPORT: &str = r#"mutation($input: ReportFaultInput!) { reportFault(input: $input) { position replayed faultReport { id ticket status reporterId channel } } }"#;

    pub const FAULT_REPORT: &str = r#"query($id: UUID!) { faultReport(id: $id) { id ticket status contractorCompanyId promisedBy overdue reopenCount workSummary
        history { status actorRole channel position detail } notes { text visibility authorRole } } }"#;

    /// A step mutation by its name, with the report fields tests look at.
    pub fn step(mutation: &str, input_type: &str) -> String {
        format!(
            "mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ position replayed faultReport {{ id status contractorCompanyId promisedBy reopenCount notes {{ text visibility }} }} }} }}"
        )
    }
}

/// `base` with the fields of `extra` added (an input with a test's own fields).
pub fn merged(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}

/// A unique idempotency key.
pub fn key() -> String {
    Uuid::now_v7().to_string()
}

/// Reports a plumbing fault in the demo resident's home and returns its id.
pub async fn report_as_resident(server: &TestServer) -> String {
    let apartment = server.apartment(demo::RENTAL, "A 4");
    let answer = server
        .as_role(
            "resident",
            ops::REPORT,
            json!({ "input": { "idempotencyKey": key(), "apartmentId": apartment, "category": "PLUMBING", "description": "Vessanpönttö vuotaa", "permissionToEnter": true } }),
        )
        .await;
    answer.data()["reportFault"]["faultReport"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Runs a step mutation as `role` with `fields` added to the input.
pub async fn step(
    server: &TestServer,
    role: &str,
    mutation: &str,
    input_type: &str,
    id: &str,
    fields: Value,
) -> Gql {
    let input = merged(
        json!({ "idempotencyKey": key(), "faultReportId": id }),
        fields,
    );
    server
        .as_role(
            role,
            &ops::step(mutation, input_type),
            json!({ "input": input }),
        )
        .await
}

/// The assigned contractor starts work on a report.
pub async fn start_work(server: &TestServer, id: &str) {
    step(
        server,
        "contractor",
        "startFaultReportWork",
        "FaultReportStepInput",
        id,
        json!({}),
    )
    .await
    .data();
}

/// The assigned contractor starts and resolves a report.
pub async fn start_and_resolve(server: &TestServer, id: &str) {
    start_work(server, id).await;
    step(
        server,
        "contractor",
        "resolveFaultReport",
        "ResolveFaultReportInput",
        id,
        json!({ "workSummary": "Korjattu" }),
    )
    .await
    .data();
}

/// Customer service acknowledges a report.
pub async fn acknowledge(server: &TestServer, id: &str) {
    step(
        server,
        "customer_service",
        "acknowledgeFaultReport",
        "FaultReportStepInput",
        id,
        json!({}),
    )
    .await
    .data();
}

/// Acknowledges and assigns a report to the demo maintenance company, promised in three days.
pub async fn acknowledge_and_assign(server: &TestServer, id: &str) {
    acknowledge(server, id).await;
    let promised = (server.clock.now_utc() + Duration::days(3)).date_naive();
    step(server, "property_manager", "assignFaultReport", "AssignFaultReportInput", id, json!({ "contractorCompanyId": server.org().contractors[demo::MAINTENANCE], "promisedBy": promised })).await.data();
}

/// Runs README walkthroughs exactly as written.
pub mod readme {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use serde_json::Value;

    use crate::TestServer;

    /// `(role, operation)` for every ```graphql block of the README section under `heading`
    /// (a whole `## ...` line), in order. A block's role is the last "(token: `role`)" before it.
    pub fn operations(heading: &str) -> Vec<(String, String)> {
        let readme =
            std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
                .unwrap();
        let start = readme
            .find(&format!("\n{heading}\n"))
            .unwrap_or_else(|| panic!("README has no section `{heading}`"));
        let section = &readme[start + heading.len() + 2..];
        let section = &section[..section.find("\n## ").unwrap_or(section.len())];
        let mut role = String::new();
        let mut steps = Vec::new();
        let mut rest = section;
        while let Some(start) = rest.find("```graphql\n") {
            let before = &rest[..start];
            if let Some(i) = before.rfind("(token: `") {
                role = before[i + 9..].split('`').next().unwrap().to_owned();
            }
            let body = &rest[start + 11..];
            let end = body.find("```").unwrap();
            steps.push((role.clone(), body[..end].to_owned()));
            rest = &body[end + 3..];
        }
        steps
    }

    /// The variables an operation declares (`$name:`).
    pub fn declared(operation: &str) -> Vec<String> {
        operation
            .split('$')
            .skip(1)
            .filter_map(|s| s.split_once(':').map(|(name, _)| name.trim().to_owned()))
            .filter(|n| !n.contains(' '))
            .collect()
    }

    /// Runs every operation of a section in order, as its role, with the variables it declares
    /// taken from `vars`; after each answer `learn` copies what a person would copy from it
    /// into `vars`. Returns the answers' data.
    pub async fn run(
        server: &TestServer,
        heading: &str,
        vars: &mut BTreeMap<String, Value>,
        learn: impl Fn(&Value, &mut BTreeMap<String, Value>),
    ) -> Vec<Value> {
        let mut answers = Vec::new();
        for (role, operation) in operations(heading) {
            let variables: serde_json::Map<String, Value> = declared(&operation)
                .into_iter()
                .map(|name| {
                    let value = vars
                        .get(&name)
                        .cloned()
                        .unwrap_or_else(|| panic!("no value yet for ${name} in {operation}"));
                    (name, value)
                })
                .collect();
            let answer = server
                .as_role(&role, &operation, Value::Object(variables))
                .await;
            let data = answer.data().clone();
            learn(&data, vars);
            answers.push(data);
        }
        answers
    }
}

/// An HTTP answer with its headers and raw body.
#[derive(Debug)]
pub struct HttpAnswer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub bytes: Vec<u8>,
}

impl HttpAnswer {
    /// The body as JSON (`Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    /// The first error's `extensions.code`.
    pub fn code(&self) -> String {
        self.json()["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error, got {} {:?}", self.status, self.json()))
            .to_owned()
    }
}

impl TestServer {
    /// Every event of `stream` as the store recorded it, oldest first: what was kept, whatever
    /// the read models made of it.
    pub async fn stream_events(
        &self,
        stream: &str,
    ) -> Vec<talo_events_schema::envelope::RecordedEvent> {
        self.talo
            .store
            .read_stream(
                stream,
                talo_store::Direction::Forwards,
                talo_store::StreamFrom::Start,
                usize::MAX,
            )
            .await
            .unwrap()
    }

    /// Any HTTP request to the router, with an optional bearer token and content type.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> HttpAnswer {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(c) = content_type {
            request = request.header(header::CONTENT_TYPE, c);
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        HttpAnswer {
            status,
            headers,
            bytes: bytes.to_vec(),
        }
    }
}

/// Asserts that a report's CSV download holds exactly the rows GraphQL answered, in the same
/// order: one column per field of the row, and every cell equal to the field's value (an
/// absent value is an empty cell). The query must select every field of the row.
pub fn assert_csv_equals_rows(csv: &str, rows: &Value) {
    let rows = rows.as_array().expect("GraphQL rows are a list");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("a header row")
        .iter()
        .map(str::to_owned)
        .collect();
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a CSV row")).collect();
    assert_eq!(
        records.len(),
        rows.len(),
        "CSV rows vs GraphQL rows:\n{csv}\n{rows:#?}"
    );
    for (record, row) in records.iter().zip(rows) {
        let fields = row.as_object().expect("a row is an object");
        let mut columns: Vec<&String> = header.iter().collect();
        let mut names: Vec<&String> = fields.keys().collect();
        columns.sort();
        names.sort();
        assert_eq!(columns, names, "CSV columns vs the row's fields");
        for (name, cell) in header.iter().zip(record.iter()) {
            let expected = match &fields[name] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert_eq!(cell, expected, "column `{name}`");
        }
    }
}
