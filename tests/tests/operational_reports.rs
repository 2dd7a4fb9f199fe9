//! Managers' operational reports over work items, through GraphQL and the CSV download: a known
//! history on a property of its own (fixed business times, across a weekend and Easter), and the
//! exact numbers of the queue, every item's promises, promises kept, flow, contractor
//! performance and channel mix; the CSV of each equals its GraphQL rows; who may read them; bad
//! input; service levels set by the organisation; a rebuild from zero equals the live model.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use talo_api::demo;
use talo_domain::register::RegisterCommand;
use talo_events_schema::register::*;
use talo_projections::engine::build_from_zero;
use talo_projections::work_items::WorkItemsView;
use talo_tests::*;
use uuid::Uuid;

fn utc(month: u32, day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, month, day, hour, 0, 0).unwrap()
}

/// March and April 2026 in Helsinki.
const FROM: &str = "2026-02-28T22:00:00Z";
const UNTIL: &str = "2026-04-30T21:00:00Z";

const QUEUE_FIELDS: &str = "process propertyId propertyName status age handlerId handlerName contractorCompanyId contractorName openItems";
const ITEM_FIELDS: &str = "itemId ticket process propertyId propertyName category channel status createdAt handlerId contractorCompanyId firstResponseDue firstResponseAt firstResponseState resolutionDue resolvedAt resolutionState reopenCount";
const SERVICE_LEVEL_FIELDS: &str = "process milestone propertyId propertyName promised met breached atRisk onTrack metRatePerMille";
const FLOW_FIELDS: &str = "periodStart group groupName created closed cancelled medianSecondsToFirstResponse p90SecondsToFirstResponse medianSecondsToClose p90SecondsToClose closedLate breachRatePerMille reopened reopenRatePerMille backlogAtEnd";
const CONTRACTOR_FIELDS: &str = "contractorCompanyId contractorName assigned resolved resolvedOnTime onTimeRatePerMille reopened reopenRatePerMille residentConfirmations";
const CHANNEL_FIELDS: &str = "periodStart propertyId propertyName total portal phone email office field system portalSharePerMille";

/// A property of the test's own, so the demo's history does not enter the numbers.
struct Mittari {
    property: Uuid,
    apartment: Uuid,
    resident: Uuid,
    resident_token: String,
}

async fn mittari(server: &TestServer) -> Mittari {
    let (property, building, apartment) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    server
        .register(RegisterCommand::RegisterProperty(PropertyRegistered {
            property_id: property,
            name: "Vuokratalo Mittari".into(),
            kind: PropertyKind::RentalCompany,
            business_id: "1234567-1".into(),
            street_address: "Mittarikatu 1".into(),
            postal_code: "00100".into(),
            city: "Helsinki".into(),
        }))
        .await;
    server
        .register(RegisterCommand::AddBuilding(BuildingAdded {
            property_id: property,
            building_id: building,
            code: "A".into(),
        }))
        .await;
    server
        .register(RegisterCommand::AddApartment(ApartmentAdded {
            property_id: property,
            building_id: building,
            apartment_id: apartment,
            code: "A 1".into(),
            rooms: "2h+k".into(),
            floor_area_dm2: 5500,
        }))
        .await;
    let resident = server.move_in(apartment).await;
    Mittari {
        property,
        apartment,
        resident,
        resident_token: server.token_for(resident),
    }
}

/// Files a fault in the Mittari apartment at the clock's time: by the resident in the portal,
/// or by customer service on their behalf through `channel`.
async fn fault(server: &TestServer, m: &Mittari, category: &str, channel: &str) -> String {
    let mut input = json!({ "idempotencyKey": key(), "apartmentId": m.apartment, "category": category, "description": "Vika", "permissionToEnter": true });
    let answer = if channel == "PORTAL" {
        server
            .gql(
                Some(&m.resident_token),
                ops::REPORT,
                json!({ "input": input }),
            )
            .await
    } else {
        input["onBehalfOf"] = json!(m.resident);
        input["channel"] = json!(channel);
        server
            .as_role("customer_service", ops::REPORT, json!({ "input": input }))
            .await
    };
    answer.data()["reportFault"]["faultReport"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn fault_step(
    server: &TestServer,
    role: &str,
    mutation: &str,
    input_type: &str,
    id: &str,
    fields: Value,
) {
    step(server, role, mutation, input_type, id, fields)
        .await
        .data();
}

async fn fault_step_as(
    server: &TestServer,
    token: &str,
    mutation: &str,
    input_type: &str,
    id: &str,
    fields: Value,
) {
    let input = merged(
        json!({ "idempotencyKey": key(), "faultReportId": id }),
        fields,
    );
    server
        .gql(
            Some(token),
            &ops::step(mutation, input_type),
            json!({ "input": input }),
        )
        .await
        .data();
}

async fn assign(server: &TestServer, id: &str, promised_by: &str) {
    let maintenance = server.org().contractors[demo::MAINTENANCE];
    fault_step(
        server,
        "property_manager",
        "assignFaultReport",
        "AssignFaultReportInput",
        id,
        json!({ "contractorCompanyId": maintenance, "promisedBy": promised_by }),
    )
    .await;
}

async fn thread_step(
    server: &TestServer,
    mutation: &str,
    input_type: &str,
    id: &str,
    fields: Value,
) {
    let input = merged(
        json!({ "idempotencyKey": key(), "messageThreadId": id }),
        fields,
    );
    let op =
        format!("mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ position }} }}");
    server
        .as_role("customer_service", &op, json!({ "input": input }))
        .await
        .data();
}

/// The known history. Returns the ids of faults F1-F4 and thread M1.
///
/// - F1, portal, Friday 6 March 15:00 local: acknowledged Monday 9 March (one working day
///   across the weekend: met), fixed on its promised day, reopened, fixed a day after its
///   second promise, confirmed.
/// - F2, portal, Monday 9 March: acknowledged Wednesday (due by Tuesday: breached), still open.
/// - M1, email on the resident's behalf, Tuesday 3 March: answered Thursday, closed Friday.
/// - F3, phone, Maundy Thursday 2 April: acknowledged Tuesday 7 April, the first working day
///   after Good Friday and Easter Monday (met); open, due 16 April, so at risk on 15 April.
/// - F4, portal, Tuesday 14 April 15:00 local: nobody has touched it.
///
/// The clock is left at Wednesday 15 April 09:00 UTC.
async fn history(server: &TestServer, m: &Mittari) -> [String; 5] {
    let clock = &server.clock;
    clock.set(utc(3, 3, 10));
    let start = "mutation($input: StartMessageThreadInput!) { startMessageThread(input: $input) { messageThread { id } } }";
    let m1 = server
        .as_role("customer_service", start, json!({ "input": { "idempotencyKey": key(), "apartmentId": m.apartment, "category": "BILLING", "subject": "Lasku", "body": "Soitin laskusta", "onBehalfOf": m.resident, "channel": "EMAIL" } }))
        .await
        .data()["startMessageThread"]["messageThread"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    clock.set(utc(3, 5, 10));
    thread_step(
        server,
        "postMessageThreadMessage",
        "PostMessageThreadMessageInput",
        &m1,
        json!({ "body": "Korjattu lasku tulossa" }),
    )
    .await;
    clock.set(utc(3, 6, 10));
    thread_step(
        server,
        "setMessageThreadStatus",
        "SetMessageThreadStatusInput",
        &m1,
        json!({ "status": "CLOSED" }),
    )
    .await;

    clock.set(utc(3, 6, 13));
    let f1 = fault(server, m, "PLUMBING", "PORTAL").await;
    clock.set(utc(3, 9, 8));
    let f2 = fault(server, m, "ELECTRICAL", "PORTAL").await;
    clock.set(utc(3, 9, 9));
    acknowledge(server, &f1).await;
    clock.set(utc(3, 9, 10));
    assign(server, &f1, "2026-03-11").await;
    clock.set(utc(3, 11, 8));
    acknowledge(server, &f2).await;
    clock.set(utc(3, 11, 10));
    start_and_resolve(server, &f1).await;
    clock.set(utc(3, 12, 8));
    fault_step_as(
        server,
        &m.resident_token,
        "reopenFaultReport",
        "FaultReportReasonInput",
        &f1,
        json!({ "reason": "Vuotaa taas" }),
    )
    .await;
    clock.set(utc(3, 12, 9));
    assign(server, &f1, "2026-03-12").await;
    clock.set(utc(3, 13, 10));
    start_and_resolve(server, &f1).await;
    clock.set(utc(3, 13, 12));
    fault_step_as(
        server,
        &m.resident_token,
        "confirmFaultReport",
        "FaultReportStepInput",
        &f1,
        json!({}),
    )
    .await;

    clock.set(utc(4, 2, 9));
    let f3 = fault(server, m, "HEATING", "PHONE").await;
    clock.set(utc(4, 7, 12));
    acknowledge(server, &f3).await;
    clock.set(utc(4, 14, 12));
    let f4 = fault(server, m, "OTHER", "PORTAL").await;
    clock.set(utc(4, 15, 9));
    [f1, f2, f3, f4, m1]
}

/// Runs report `field` with `input` through GraphQL as `token`, downloads `/reports/{csv}.csv`
/// with the same input, asserts the two hold the same rows, and returns them.
async fn report(
    server: &TestServer,
    token: &str,
    field: &str,
    input_type: &str,
    fields: &str,
    csv: &str,
    input: Value,
) -> Value {
    let query = format!("query($input: {input_type}!) {{ {field}(input: $input) {{ {fields} }} }}");
    let rows = server
        .gql(Some(token), &query, json!({ "input": input }))
        .await
        .data()[field]
        .clone();
    let download = server
        .request(
            "GET",
            &format!("/reports/{csv}.csv?{}", query_string(&input)),
            Some(token),
            None,
            vec![],
        )
        .await;
    assert_eq!(
        download.status,
        200,
        "{}",
        String::from_utf8_lossy(&download.bytes)
    );
    assert_eq!(download.headers["content-type"], "text/csv; charset=utf-8");
    assert_csv_equals_rows(&String::from_utf8(download.bytes).unwrap(), &rows);
    rows
}

/// A GraphQL input as query parameters of the same names.
fn query_string(input: &Value) -> String {
    input
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!(
                "{k}={}",
                v.replace('%', "%25")
                    .replace(':', "%3A")
                    .replace('+', "%2B")
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test]
async fn every_report_gives_the_exact_numbers_of_a_known_history_and_its_csv_equals_graphql() {
    let server = TestServer::start().await;
    let m = mittari(&server).await;
    let [f1, f2, f3, f4, m1] = history(&server, &m).await;
    let manager = server.token("property_manager");
    let cs = server.org().person("customer_service");
    let maintenance = server.org().contractors[demo::MAINTENANCE];

    // The queue now: F3 and F2 acknowledged by customer service, F4 untouched.
    let queue = report(
        &server,
        &manager,
        "queueReport",
        "QueueReportInput",
        QUEUE_FIELDS,
        "queue",
        json!({ "propertyId": m.property }),
    )
    .await;
    let summary: Vec<(String, String, String, Value, u64)> = queue
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["process"].as_str().unwrap().into(),
                r["status"].as_str().unwrap().into(),
                r["age"].as_str().unwrap().into(),
                r["handlerId"].clone(),
                r["openItems"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "FAULT_REPORT".into(),
                "acknowledged".into(),
                "SEVEN_TO_THIRTY_DAYS".into(),
                json!(cs),
                1
            ),
            (
                "FAULT_REPORT".into(),
                "acknowledged".into(),
                "OVER_THIRTY_DAYS".into(),
                json!(cs),
                1
            ),
            (
                "FAULT_REPORT".into(),
                "reported".into(),
                "UNDER_ONE_DAY".into(),
                Value::Null,
                1
            ),
        ]
    );
    assert_eq!(queue[0]["propertyName"], "Vuokratalo Mittari");
    assert_eq!(
        queue[0]["handlerName"].as_str().map(str::is_empty),
        Some(false)
    );
    let unassigned = report(
        &server,
        &manager,
        "queueReport",
        "QueueReportInput",
        QUEUE_FIELDS,
        "queue",
        json!({ "propertyId": m.property, "unassignedOnly": true }),
    )
    .await;
    assert_eq!(unassigned.as_array().unwrap().len(), 1);
    assert_eq!(unassigned[0]["status"], "reported");

    // Every item with its promises.
    let items = report(
        &server,
        &manager,
        "workItemsReport",
        "WorkItemsReportInput",
        ITEM_FIELDS,
        "work-items",
        json!({ "from": FROM, "until": UNTIL, "propertyId": m.property }),
    )
    .await;
    let by_id = |id: &str| {
        items
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["itemId"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(items.as_array().unwrap().len(), 5);
    let i1 = by_id(&f1);
    assert_eq!(
        (
            i1["firstResponseDue"].as_str(),
            i1["firstResponseState"].as_str(),
            i1["resolutionDue"].as_str(),
            i1["resolvedAt"].as_str(),
            i1["resolutionState"].as_str(),
            i1["reopenCount"].as_u64(),
            i1["status"].as_str(),
            i1["channel"].as_str()
        ),
        (
            Some("2026-03-09T22:00:00+00:00"),
            Some("MET"),
            Some("2026-03-20T22:00:00+00:00"),
            Some("2026-03-13T10:00:00+00:00"),
            Some("MET"),
            Some(1),
            Some("confirmed"),
            Some("PORTAL")
        ),
        "one working day from a Friday is the end of Monday"
    );
    let i2 = by_id(&f2);
    assert_eq!(
        (
            i2["firstResponseDue"].as_str(),
            i2["firstResponseAt"].as_str(),
            i2["firstResponseState"].as_str(),
            i2["resolutionState"].as_str()
        ),
        (
            Some("2026-03-10T22:00:00+00:00"),
            Some("2026-03-11T08:00:00+00:00"),
            Some("BREACHED"),
            Some("BREACHED")
        )
    );
    let i3 = by_id(&f3);
    assert_eq!(
        (
            i3["firstResponseDue"].as_str(),
            i3["firstResponseState"].as_str(),
            i3["resolutionDue"].as_str(),
            i3["resolutionState"].as_str(),
            i3["channel"].as_str()
        ),
        (
            Some("2026-04-07T21:00:00+00:00"),
            Some("MET"),
            Some("2026-04-16T21:00:00+00:00"),
            Some("AT_RISK"),
            Some("PHONE")
        ),
        "Good Friday, the weekend and Easter Monday do not count"
    );
    let i4 = by_id(&f4);
    assert_eq!(
        (
            i4["firstResponseState"].as_str(),
            i4["resolutionState"].as_str(),
            i4["handlerId"].as_str()
        ),
        (Some("ON_TRACK"), Some("ON_TRACK"), None)
    );
    let t1 = by_id(&m1);
    assert_eq!(
        (
            t1["process"].as_str(),
            t1["channel"].as_str(),
            t1["firstResponseDue"].as_str(),
            t1["firstResponseState"].as_str(),
            t1["resolutionDue"].as_str(),
            t1["resolutionState"].as_str()
        ),
        (
            Some("MESSAGE_THREAD"),
            Some("EMAIL"),
            Some("2026-03-05T22:00:00+00:00"),
            Some("MET"),
            Some("2026-03-17T22:00:00+00:00"),
            Some("MET")
        )
    );
    let breached = report(&server, &manager, "workItemsReport", "WorkItemsReportInput", ITEM_FIELDS, "work-items", json!({ "from": FROM, "until": UNTIL, "propertyId": m.property, "promiseState": "BREACHED" })).await;
    assert_eq!(
        breached
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["itemId"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec![f2.as_str()]
    );
    let at_risk = report(&server, &manager, "workItemsReport", "WorkItemsReportInput", ITEM_FIELDS, "work-items", json!({ "from": FROM, "until": UNTIL, "propertyId": m.property, "promiseState": "AT_RISK" })).await;
    assert_eq!(
        at_risk
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["itemId"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec![f3.as_str()]
    );

    // Promises kept.
    let levels = report(
        &server,
        &manager,
        "serviceLevelReport",
        "ServiceLevelReportInput",
        SERVICE_LEVEL_FIELDS,
        "service-levels",
        json!({ "from": FROM, "until": UNTIL, "propertyId": m.property }),
    )
    .await;
    let counts: Vec<(String, String, [u64; 6])> = levels
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let n = |f: &str| r[f].as_u64().unwrap();
            (
                r["process"].as_str().unwrap().into(),
                r["milestone"].as_str().unwrap().into(),
                [
                    n("promised"),
                    n("met"),
                    n("breached"),
                    n("atRisk"),
                    n("onTrack"),
                    n("metRatePerMille"),
                ],
            )
        })
        .collect();
    assert_eq!(
        counts,
        vec![
            (
                "FAULT_REPORT".into(),
                "FIRST_RESPONSE".into(),
                [4, 2, 1, 0, 1, 666]
            ),
            (
                "FAULT_REPORT".into(),
                "RESOLUTION".into(),
                [4, 1, 1, 1, 1, 500]
            ),
            (
                "MESSAGE_THREAD".into(),
                "FIRST_RESPONSE".into(),
                [1, 1, 0, 0, 0, 1000]
            ),
            (
                "MESSAGE_THREAD".into(),
                "RESOLUTION".into(),
                [1, 1, 0, 0, 0, 1000]
            ),
        ]
    );

    // Flow per month and process.
    let flow = report(&server, &manager, "flowReport", "FlowReportInput", FLOW_FIELDS, "flow", json!({ "from": FROM, "until": UNTIL, "period": "MONTH", "groupBy": "PROCESS", "propertyId": m.property })).await;
    assert_eq!(
        flow,
        json!([
            { "periodStart": "2026-03-01", "group": "FAULT_REPORT", "groupName": "FAULT_REPORT", "created": 2, "closed": 2, "cancelled": 0,
              "medianSecondsToFirstResponse": 208800, "p90SecondsToFirstResponse": 244800,
              "medianSecondsToClose": 507600, "p90SecondsToClose": 594000,
              "closedLate": 0, "breachRatePerMille": 0, "reopened": 1, "reopenRatePerMille": 500, "backlogAtEnd": 1 },
            { "periodStart": "2026-03-01", "group": "MESSAGE_THREAD", "groupName": "MESSAGE_THREAD", "created": 1, "closed": 1, "cancelled": 0,
              "medianSecondsToFirstResponse": 172800, "p90SecondsToFirstResponse": 172800,
              "medianSecondsToClose": 259200, "p90SecondsToClose": 259200,
              "closedLate": 0, "breachRatePerMille": 0, "reopened": 0, "reopenRatePerMille": 0, "backlogAtEnd": 0 },
            { "periodStart": "2026-04-01", "group": "FAULT_REPORT", "groupName": "FAULT_REPORT", "created": 2, "closed": 0, "cancelled": 0,
              "medianSecondsToFirstResponse": 442800, "p90SecondsToFirstResponse": 442800,
              "medianSecondsToClose": null, "p90SecondsToClose": null,
              "closedLate": 0, "breachRatePerMille": null, "reopened": 0, "reopenRatePerMille": null, "backlogAtEnd": 3 },
        ])
    );
    let by_contractor = report(&server, &manager, "flowReport", "FlowReportInput", FLOW_FIELDS, "flow", json!({ "from": FROM, "until": UNTIL, "period": "MONTH", "groupBy": "CONTRACTOR", "propertyId": m.property, "process": "FAULT_REPORT" })).await;
    let march: Vec<(Value, Value, u64)> = by_contractor
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["periodStart"] == "2026-03-01")
        .map(|r| {
            (
                r["group"].clone(),
                r["groupName"].clone(),
                r["created"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        march,
        vec![
            (Value::Null, Value::Null, 1),
            (json!(maintenance.to_string()), json!(demo::MAINTENANCE), 1),
        ],
        "F2 has no contractor; F1 is Maintenance's"
    );

    // Contractor performance: two assignments, two fixes, the second after its promised day.
    let contractors = report(
        &server,
        &manager,
        "contractorPerformanceReport",
        "ContractorReportInput",
        CONTRACTOR_FIELDS,
        "contractor-performance",
        json!({ "from": FROM, "until": UNTIL, "propertyId": m.property }),
    )
    .await;
    assert_eq!(
        contractors,
        json!([{ "contractorCompanyId": maintenance, "contractorName": demo::MAINTENANCE, "assigned": 2, "resolved": 2, "resolvedOnTime": 1, "onTimeRatePerMille": 500, "reopened": 1, "reopenRatePerMille": 500, "residentConfirmations": 1 }])
    );

    // Channel mix per month.
    let mix = report(
        &server,
        &manager,
        "channelMixReport",
        "ChannelMixReportInput",
        CHANNEL_FIELDS,
        "channel-mix",
        json!({ "from": FROM, "until": UNTIL, "period": "MONTH", "propertyId": m.property }),
    )
    .await;
    assert_eq!(
        mix,
        json!([
            { "periodStart": "2026-03-01", "propertyId": m.property, "propertyName": "Vuokratalo Mittari", "total": 3, "portal": 2, "phone": 0, "email": 1, "office": 0, "field": 0, "system": 0, "portalSharePerMille": 666 },
            { "periodStart": "2026-04-01", "propertyId": m.property, "propertyName": "Vuokratalo Mittari", "total": 2, "portal": 1, "phone": 1, "email": 0, "office": 0, "field": 0, "system": 0, "portalSharePerMille": 500 },
        ])
    );
    let faults_only = report(&server, &manager, "channelMixReport", "ChannelMixReportInput", CHANNEL_FIELDS, "channel-mix", json!({ "from": FROM, "until": UNTIL, "period": "MONTH", "propertyId": m.property, "process": "FAULT_REPORT" })).await;
    assert_eq!(
        (
            faults_only[0]["total"].as_u64(),
            faults_only[0]["portalSharePerMille"].as_u64()
        ),
        (Some(2), Some(1000))
    );

    // Weekly: the week of Monday 9 March holds F2's creation and F1's first response.
    let weekly = report(&server, &manager, "flowReport", "FlowReportInput", FLOW_FIELDS, "flow", json!({ "from": FROM, "until": UNTIL, "period": "WEEK", "groupBy": "PROPERTY", "propertyId": m.property })).await;
    let week = weekly
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["periodStart"] == "2026-03-09")
        .unwrap();
    assert_eq!(
        (
            week["created"].as_u64(),
            week["closed"].as_u64(),
            week["reopened"].as_u64(),
            week["backlogAtEnd"].as_u64(),
            week["groupName"].as_str()
        ),
        (
            Some(1),
            Some(2),
            Some(1),
            Some(1),
            Some("Vuokratalo Mittari")
        )
    );
}

#[tokio::test]
async fn a_rebuild_from_zero_gives_the_same_work_items_as_the_live_model() {
    let server = TestServer::start().await;
    let m = mittari(&server).await;
    // Promises set first, so every item carries them: the rebuild reads only the work items'
    // own event types (`WorkItemsView::EVENT_TYPES`), and must find the promises among them.
    let input = json!({ "idempotencyKey": key(), "atRiskPercent": 20, "targets": [
        { "process": "FAULT_REPORT", "milestone": "FIRST_RESPONSE", "amount": 2, "unit": "WORKING_DAYS" },
        { "process": "MESSAGE_THREAD", "milestone": "RESOLUTION", "amount": 5, "unit": "CALENDAR_DAYS" },
    ] });
    server
        .gql(
            Some(&server.token("property_manager")),
            SET_LEVELS,
            json!({ "input": input }),
        )
        .await
        .data();
    history(&server, &m).await;
    let head = server.talo.store.head().await.unwrap();
    let rebuilt: WorkItemsView = build_from_zero(server.talo.store.as_ref(), head)
        .await
        .unwrap();
    assert_eq!(*server.talo.read_models.work_items.read(), rebuilt);
    let server = server.restart().await;
    assert_eq!(*server.talo.read_models.work_items.read(), rebuilt);
}

#[tokio::test]
async fn reports_are_for_office_staff_and_auditors_of_their_own_properties() {
    let server = TestServer::start().await;
    let m = mittari(&server).await;
    history(&server, &m).await;
    let input = json!({ "from": FROM, "until": UNTIL, "period": "MONTH" });
    let query = format!(
        "query($input: ChannelMixReportInput!) {{ channelMixReport(input: $input) {{ {CHANNEL_FIELDS} }} }}"
    );
    for role in ["resident", "contractor", "board_chair"] {
        server
            .as_role(role, &query, json!({ "input": input }))
            .await
            .assert_refused("FORBIDDEN", "report.forbidden");
        let download = server
            .request(
                "GET",
                &format!("/reports/channel-mix.csv?{}", query_string(&input)),
                Some(&server.token(role)),
                None,
                vec![],
            )
            .await;
        assert_eq!(
            (download.status.as_u16(), download.code()),
            (403, "FORBIDDEN".into()),
            "{role}"
        );
    }
    let anonymous = server
        .request(
            "GET",
            &format!("/reports/channel-mix.csv?{}", query_string(&input)),
            None,
            None,
            vec![],
        )
        .await;
    assert_eq!(anonymous.status, 401);

    // The auditor reads every property.
    let auditor = report(
        &server,
        &server.token("auditor"),
        "channelMixReport",
        "ChannelMixReportInput",
        CHANNEL_FIELDS,
        "channel-mix",
        input.clone(),
    )
    .await;
    assert!(
        auditor
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["propertyId"] == json!(m.property))
    );

    // Customer service for the Mittari property only sees Mittari's rows.
    let person = server
        .staff_of_property(
            "Paikallinen Palvelu",
            StaffRole::CustomerService,
            m.property,
        )
        .await;
    let local = report(
        &server,
        &server.token_for(person),
        "channelMixReport",
        "ChannelMixReportInput",
        CHANNEL_FIELDS,
        "channel-mix",
        input.clone(),
    )
    .await;
    let properties: Vec<&str> = local
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["propertyId"].as_str().unwrap())
        .collect();
    assert_eq!(properties.len(), 2);
    assert!(properties.iter().all(|p| *p == m.property.to_string()));
    let rental = server.org().properties[demo::RENTAL];
    let other = report(
        &server,
        &server.token_for(person),
        "channelMixReport",
        "ChannelMixReportInput",
        CHANNEL_FIELDS,
        "channel-mix",
        merged(input, json!({ "propertyId": rental })),
    )
    .await;
    assert_eq!(other, json!([]));
}

#[tokio::test]
async fn bad_report_input_is_refused_by_field() {
    let server = TestServer::start().await;
    let manager = server.token("property_manager");
    let query = format!(
        "query($input: FlowReportInput!) {{ flowReport(input: $input) {{ {FLOW_FIELDS} }} }}"
    );
    let backwards =
        json!({ "from": UNTIL, "until": FROM, "period": "MONTH", "groupBy": "PROPERTY" });
    let answer = server
        .gql(Some(&manager), &query, json!({ "input": backwards }))
        .await;
    answer.assert_refused("BAD_USER_INPUT", "report.range");
    assert_eq!(answer.body["errors"][0]["extensions"]["field"], "until");
    let download = server
        .request(
            "GET",
            &format!("/reports/flow.csv?{}", query_string(&backwards)),
            Some(&manager),
            None,
            vec![],
        )
        .await;
    assert_eq!(
        (
            download.status.as_u16(),
            download.json()["errors"][0]["extensions"]["field"].as_str()
        ),
        (400, Some("until"))
    );

    let missing = server
        .request(
            "GET",
            "/reports/flow.csv?period=MONTH&groupBy=PROPERTY&until=2026-04-30T21%3A00%3A00Z",
            Some(&manager),
            None,
            vec![],
        )
        .await;
    assert_eq!(
        (
            missing.status.as_u16(),
            missing.json()["errors"][0]["extensions"]["field"].as_str()
        ),
        (400, Some("from"))
    );
    let malformed = server.request("GET", "/reports/flow.csv?from=yesterday&until=2026-04-30T21%3A00%3A00Z&period=MONTH&groupBy=PROPERTY", Some(&manager), None, vec![]).await;
    assert_eq!(
        (
            malformed.status.as_u16(),
            malformed.json()["errors"][0]["extensions"]["field"].as_str()
        ),
        (400, Some("from"))
    );
    let bad_enum = server
        .request(
            "GET",
            &format!(
                "/reports/flow.csv?from={}&until={}&period=FORTNIGHT&groupBy=PROPERTY",
                FROM.replace(':', "%3A"),
                UNTIL.replace(':', "%3A")
            ),
            Some(&manager),
            None,
            vec![],
        )
        .await;
    assert_eq!(
        (
            bad_enum.status.as_u16(),
            bad_enum.json()["errors"][0]["extensions"]["field"].as_str()
        ),
        (400, Some("period"))
    );

    let unknown = server
        .request(
            "GET",
            "/reports/horoscope.csv",
            Some(&manager),
            None,
            vec![],
        )
        .await;
    assert_eq!(
        (unknown.status.as_u16(), unknown.code()),
        (404, "NOT_FOUND".into())
    );
    let not_csv = server
        .request("GET", "/reports/flow.pdf", Some(&manager), None, vec![])
        .await;
    assert_eq!(not_csv.status.as_u16(), 404);
}

const SET_LEVELS: &str = "mutation($input: SetServiceLevelsInput!) { setServiceLevels(input: $input) { replayed serviceLevels { atRiskPercent targets { process milestone amount unit } } } }";

#[tokio::test]
async fn the_organisations_promises_apply_to_items_created_after_they_are_set() {
    let server = TestServer::start().await;
    let m = mittari(&server).await;
    let manager = server.token("property_manager");
    let defaults = server
        .gql(
            Some(&manager),
            "{ serviceLevels { atRiskPercent targets { process milestone amount unit } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        defaults.data()["serviceLevels"]["targets"][0],
        json!({ "process": "FAULT_REPORT", "milestone": "FIRST_RESPONSE", "amount": 1, "unit": "WORKING_DAYS" })
    );

    server.clock.set(utc(3, 6, 13));
    let before = fault(&server, &m, "PLUMBING", "PORTAL").await;
    let input = json!({ "idempotencyKey": key(), "atRiskPercent": 10, "targets": [
        { "process": "FAULT_REPORT", "milestone": "FIRST_RESPONSE", "amount": 3, "unit": "WORKING_DAYS" },
        { "process": "FAULT_REPORT", "milestone": "RESOLUTION", "amount": 7, "unit": "CALENDAR_DAYS" },
    ] });
    let set = server
        .gql(Some(&manager), SET_LEVELS, json!({ "input": input }))
        .await;
    assert_eq!(
        set.data()["setServiceLevels"]["serviceLevels"]["atRiskPercent"],
        10
    );
    assert_eq!(
        set.data()["setServiceLevels"]["serviceLevels"]["targets"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let after = fault(&server, &m, "PLUMBING", "PORTAL").await;
    let thread = server
        .gql(Some(&m.resident_token), "mutation($input: StartMessageThreadInput!) { startMessageThread(input: $input) { messageThread { id } } }", json!({ "input": { "idempotencyKey": key(), "apartmentId": m.apartment, "category": "GENERAL", "subject": "Kysymys", "body": "Hei" } }))
        .await
        .data()["startMessageThread"]["messageThread"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let items = report(
        &server,
        &manager,
        "workItemsReport",
        "WorkItemsReportInput",
        ITEM_FIELDS,
        "work-items",
        json!({ "from": FROM, "until": UNTIL, "propertyId": m.property }),
    )
    .await;
    let due = |id: &str| {
        let i = items
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["itemId"] == id)
            .unwrap();
        (i["firstResponseDue"].clone(), i["resolutionDue"].clone())
    };
    assert_eq!(
        due(&before),
        (
            json!("2026-03-09T22:00:00+00:00"),
            json!("2026-03-20T22:00:00+00:00")
        ),
        "the promise it came in with"
    );
    assert_eq!(
        due(&after),
        (
            json!("2026-03-11T22:00:00+00:00"),
            json!("2026-03-13T22:00:00+00:00")
        ),
        "three working days from Friday"
    );
    assert_eq!(
        due(&thread),
        (Value::Null, Value::Null),
        "no promise was set for threads"
    );
}

#[tokio::test]
async fn only_an_organisation_wide_manager_sets_promises_and_bad_ones_are_refused() {
    let server = TestServer::start().await;
    let target = |amount: u32| json!({ "process": "FAULT_REPORT", "milestone": "FIRST_RESPONSE", "amount": amount, "unit": "WORKING_DAYS" });
    let set = |role: &'static str, targets: Value, at_risk: u32| {
        let server = &server;
        async move {
            server.as_role(role, SET_LEVELS, json!({ "input": { "idempotencyKey": key(), "atRiskPercent": at_risk, "targets": targets } })).await
        }
    };
    set("customer_service", json!([target(2)]), 20)
        .await
        .assert_refused("FORBIDDEN", "service_level.forbidden");
    set("auditor", json!([target(2)]), 20)
        .await
        .assert_refused("FORBIDDEN", "auditor.read_only");
    set("resident", json!([target(2)]), 20)
        .await
        .assert_refused("FORBIDDEN", "service_level.forbidden");
    let zero = set("property_manager", json!([target(0)]), 20).await;
    zero.assert_refused("BAD_USER_INPUT", "service_level.amount");
    assert_eq!(
        zero.body["errors"][0]["extensions"]["field"],
        "targets.amount"
    );
    set("property_manager", json!([target(1), target(2)]), 20)
        .await
        .assert_refused("BAD_USER_INPUT", "service_level.duplicate");
    set("property_manager", json!([target(1)]), 100)
        .await
        .assert_refused("BAD_USER_INPUT", "service_level.at_risk_percent");
    // Nothing was recorded: the defaults still hold.
    let levels = server
        .as_role(
            "property_manager",
            "{ serviceLevels { atRiskPercent } }",
            json!({}),
        )
        .await;
    assert_eq!(levels.data()["serviceLevels"]["atRiskPercent"], 25);
    server
        .as_role("resident", "{ serviceLevels { atRiskPercent } }", json!({}))
        .await
        .assert_refused("FORBIDDEN", "report.forbidden");
}
