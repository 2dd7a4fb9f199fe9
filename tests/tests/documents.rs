//! The document archive, black-box: uploads and downloads over HTTP, listing and metadata
//! changes over GraphQL, and who sees what: every audience against every role, evaluated at
//! the time of each request.

use chrono::Duration;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use talo_api::demo::{COOPERATIVE, RENTAL};
use talo_domain::calendar::local_date;
use talo_domain::register::RegisterCommand;
use talo_events_schema::register::*;
use talo_tests::{HttpAnswer, NowUtc, TestServer, key};
use uuid::Uuid;

const AUDIENCES: [&str; 4] = ["chair_only", "board", "shareholders", "all_residents"];

const LIST: &str = r#"query($propertyId: UUID!) { documents(propertyId: $propertyId, first: 100) { totalCount edges { node { id title audience withdrawn latestVersion canManage versions { version sha256 sizeBytes downloadPath } } } } }"#;

fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Uploads `bytes` as the property manager to the cooperative.
async fn upload(server: &TestServer, audience: &str, title: &str, bytes: &[u8]) -> HttpAnswer {
    let path = format!(
        "/documents?propertyId={}&title={}&category=minutes&audience={audience}&filename=poytakirja.pdf&idempotencyKey={}",
        server.org().properties[COOPERATIVE],
        enc(title),
        key()
    );
    server
        .request(
            "POST",
            &path,
            Some(&server.token("property_manager")),
            Some("application/pdf"),
            bytes.to_vec(),
        )
        .await
}

async fn upload_ok(server: &TestServer, audience: &str, bytes: &[u8]) -> String {
    let answer = upload(server, audience, &format!("Asiakirja {audience}"), bytes).await;
    assert_eq!(answer.status, 201, "{:?}", answer.json());
    answer.json()["documentId"].as_str().unwrap().to_owned()
}

async fn listed(server: &TestServer, token: &str) -> Vec<String> {
    let answer = server
        .gql(
            Some(token),
            LIST,
            json!({ "propertyId": server.org().properties[COOPERATIVE] }),
        )
        .await;
    answer.data()["documents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn download(server: &TestServer, token: &str, id: &str, query: &str) -> HttpAnswer {
    server
        .request(
            "GET",
            &format!("/documents/{id}/content{query}"),
            Some(token),
            None,
            Vec::new(),
        )
        .await
}

/// A new person of the first organisation, returning their id.
async fn person(server: &TestServer, name: &str) -> Uuid {
    let person_id = Uuid::now_v7();
    server
        .register(RegisterCommand::RegisterPerson(PersonRegistered {
            person_id,
            name: name.into(),
            email: None,
            phone: None,
        }))
        .await;
    person_id
}

/// A tenant with a lease in the cooperative, and a board member (no home there), since a
/// month ago.
async fn tenant_and_board_member(server: &TestServer) -> (Uuid, Uuid) {
    let month_ago = local_date(server.clock.now_utc() - Duration::days(30));
    let tenant = person(server, "Tiina Vuokralainen").await;
    server
        .register(RegisterCommand::SignContract(ContractSigned {
            contract_id: Uuid::now_v7(),
            apartment_id: server.apartment(COOPERATIVE, "A 2"),
            person_id: tenant,
            kind: ContractKind::Lease,
            starts_on: month_ago,
            ends_on: None,
        }))
        .await;
    let member = person(server, "Harri Hallitus").await;
    server
        .register(RegisterCommand::ElectBoardMember(BoardMemberElected {
            property_id: server.org().properties[COOPERATIVE],
            person_id: member,
            role: BoardRole::Member,
            starts_on: month_ago,
        }))
        .await;
    (tenant, member)
}

#[tokio::test]
async fn every_audience_against_every_role() {
    let server = TestServer::with_two_organisations().await;
    let (tenant, member) = tenant_and_board_member(&server).await;
    let mut documents = Vec::new();
    for audience in AUDIENCES {
        let bytes = format!("%PDF-1.4 {audience}").into_bytes();
        documents.push((upload_ok(&server, audience, &bytes).await, bytes));
    }
    // (who, token, sees [chair_only, board, shareholders, all_residents])
    let all = [true; 4];
    let none = [false; 4];
    let table = [
        (
            "tenant of the property",
            server.token_for(tenant),
            [false, false, false, true],
        ),
        (
            "shareholder",
            server.token("shareholder"),
            [false, false, true, true],
        ),
        (
            "board member",
            server.token_for(member),
            [false, true, true, true],
        ),
        ("board chair", server.token("board_chair"), all),
        ("property manager", server.token("property_manager"), all),
        ("customer service", server.token("customer_service"), all),
        ("contractor", server.token("contractor"), none),
        ("auditor", server.token("auditor"), all),
        (
            "resident of the other property",
            server.token("resident"),
            none,
        ),
        (
            "person of the other organisation",
            server.token_in(1, "property_manager"),
            none,
        ),
    ];
    for (who, token, sees) in table {
        let list = listed(&server, &token).await;
        for ((id, bytes), (audience, expected)) in
            documents.iter().zip(AUDIENCES.into_iter().zip(sees))
        {
            assert_eq!(
                list.contains(id),
                expected,
                "{who} listing a document for {audience}"
            );
            let answer = download(&server, &token, id, "").await;
            if expected {
                assert_eq!(answer.status, 200, "{who} downloading {audience}");
                assert_eq!(&answer.bytes, bytes, "{who} downloading {audience}");
            } else {
                assert_eq!(
                    (answer.status.as_u16(), answer.code().as_str()),
                    (404, "NOT_FOUND"),
                    "{who} downloading {audience}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_board_member_who_leaves_the_board_loses_access_at_once() {
    let server = TestServer::start().await;
    let (_, member) = tenant_and_board_member(&server).await;
    let id = upload_ok(&server, "board", b"%PDF-1.4 hallitus").await;
    let token = server.token_for(member);
    assert!(listed(&server, &token).await.contains(&id));
    assert_eq!(download(&server, &token, &id, "").await.status, 200);
    server
        .register(RegisterCommand::EndBoardMembership(BoardMembershipEnded {
            property_id: server.org().properties[COOPERATIVE],
            person_id: member,
            ends_on: local_date(server.clock.now_utc() - Duration::days(1)),
        }))
        .await;
    assert!(!listed(&server, &token).await.contains(&id));
    assert_eq!(download(&server, &token, &id, "").await.status, 404);
    let single = server
        .gql(
            Some(&token),
            "query($id: UUID!) { document(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(single.code(), "NOT_FOUND");
}

#[tokio::test]
async fn a_tenant_whose_lease_ends_loses_access_at_once() {
    let server = TestServer::start().await;
    let id = upload_ok(&server, "all_residents", b"%PDF-1.4 jarjestyssaannot").await;
    let tenant = person(&server, "Ville Vuokralainen").await;
    let contract_id = Uuid::now_v7();
    server
        .register(RegisterCommand::SignContract(ContractSigned {
            contract_id,
            apartment_id: server.apartment(COOPERATIVE, "B 13"),
            person_id: tenant,
            kind: ContractKind::Lease,
            starts_on: local_date(server.clock.now_utc() - Duration::days(90)),
            ends_on: None,
        }))
        .await;
    let token = server.token_for(tenant);
    assert_eq!(download(&server, &token, &id, "").await.status, 200);
    server
        .register(RegisterCommand::EndContract(ContractEnded {
            contract_id,
            ends_on: local_date(server.clock.now_utc() - Duration::days(1)),
        }))
        .await;
    assert!(!listed(&server, &token).await.contains(&id));
    assert_eq!(download(&server, &token, &id, "").await.status, 404);
    // A resident of the rental company never saw the cooperative's papers.
    let resident = server.token("resident");
    assert_eq!(download(&server, &resident, &id, "").await.status, 404);
    let rental = server
        .gql(
            Some(&resident),
            LIST,
            json!({ "propertyId": server.org().properties[RENTAL] }),
        )
        .await;
    let seen: Vec<&str> = rental.data()["documents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap())
        .collect();
    assert!(
        !seen.contains(&id.as_str()),
        "a property's list holds only its own documents"
    );
}

#[tokio::test]
async fn versions_round_trip_byte_for_byte_and_the_latest_is_the_default() {
    let server = TestServer::start().await;
    let first: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let answer = upload(&server, "all_residents", "Järjestyssäännöt 2026", &first).await;
    assert_eq!(answer.status, 201);
    let body = answer.json();
    assert_eq!(body["version"], 1);
    assert_eq!(body["sha256"], sha256(&first));
    assert_eq!(body["sizeBytes"], first.len());
    let id = body["documentId"].as_str().unwrap().to_owned();

    let second = b"%PDF-1.7 toinen versio".to_vec();
    let answer = server
        .request(
            "POST",
            &format!("/documents/{id}/versions?filename=saannot-v2.pdf"),
            Some(&server.token("property_manager")),
            Some("application/pdf"),
            second.clone(),
        )
        .await;
    assert_eq!(answer.status, 201, "{:?}", answer.json());
    assert_eq!(answer.json()["version"], 2);
    assert_eq!(answer.json()["sha256"], sha256(&second));

    let token = server.token("shareholder");
    let latest = download(&server, &token, &id, "").await;
    assert_eq!(latest.status, 200);
    assert_eq!(latest.bytes, second);
    assert_eq!(latest.headers["content-type"], "application/pdf");
    let old = download(&server, &token, &id, "?version=1").await;
    assert_eq!(old.bytes, first, "old versions stay downloadable by number");
    assert_eq!(sha256(&old.bytes), body["sha256"].as_str().unwrap());
    let missing = download(&server, &token, &id, "?version=3").await;
    assert_eq!(
        (missing.status.as_u16(), missing.code().as_str()),
        (404, "NOT_FOUND")
    );
    let bad = download(&server, &token, &id, "?version=x").await;
    assert_eq!(
        (bad.status.as_u16(), bad.code().as_str()),
        (400, "BAD_USER_INPUT")
    );

    let list = server
        .gql(
            Some(&token),
            "query($id: UUID!) { document(id: $id) { latestVersion versions { version sha256 downloadPath } } }",
            json!({ "id": id }),
        )
        .await;
    let document = &list.data()["document"];
    assert_eq!(document["latestVersion"], 2);
    assert_eq!(document["versions"][0]["sha256"], sha256(&first));
    assert_eq!(
        document["versions"][1]["downloadPath"],
        format!("/documents/{id}/content?version=2")
    );
}

#[tokio::test]
async fn content_is_stored_once_under_its_hash_in_the_data_directory() {
    let server = TestServer::start().await;
    let bytes = b"%PDF-1.4 sama sisalto".to_vec();
    let a = upload_ok(&server, "board", &bytes).await;
    let b = upload_ok(&server, "shareholders", &bytes).await;
    assert_ne!(a, b);
    let hash = sha256(&bytes);
    let path = server
        .dir
        .path()
        .join("documents/sha256")
        .join(&hash[..2])
        .join(&hash);
    assert_eq!(std::fs::read(path).unwrap(), bytes);
    let files = std::fs::read_dir(server.dir.path().join("documents/sha256").join(&hash[..2]))
        .unwrap()
        .count();
    assert_eq!(files, 1, "deduplicated, no temporary files left");
}

#[tokio::test]
async fn a_retried_upload_returns_the_first_document() {
    let server = TestServer::start().await;
    let path = format!(
        "/documents?propertyId={}&title=Muistio&category=meeting_memo&audience=chair_only&filename=muistio.txt&idempotencyKey=upload-1",
        server.org().properties[COOPERATIVE]
    );
    let token = server.token("property_manager");
    let send = || {
        server.request(
            "POST",
            &path,
            Some(&token),
            Some("text/plain; charset=utf-8"),
            b"muistio".to_vec(),
        )
    };
    let first = send().await;
    assert_eq!(first.status, 201);
    let again = send().await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["replayed"], true);
    assert_eq!(again.json()["documentId"], first.json()["documentId"]);
    assert_eq!(again.json()["contentType"], "text/plain");
}

#[tokio::test]
async fn size_type_and_parameters_are_checked_with_their_codes() {
    let server = TestServer::start().await;
    let limit = server.talo.config.limits.max_document_bytes;
    let too_large = upload(&server, "board", "Iso", &vec![b'x'; limit + 1]).await;
    assert_eq!(too_large.status, 413);
    assert_eq!(too_large.code(), "PAYLOAD_TOO_LARGE");
    assert!(
        too_large.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("body: ")
    );
    let at_limit = upload(&server, "board", "Juuri ja juuri", &vec![b'x'; limit]).await;
    assert_eq!(at_limit.status, 201, "the limit itself is allowed");

    let path = format!(
        "/documents?propertyId={}&title=Ohjelma&category=other&audience=board&filename=ohjelma.exe",
        server.org().properties[COOPERATIVE]
    );
    let wrong_type = server
        .request(
            "POST",
            &path,
            Some(&server.token("property_manager")),
            Some("application/x-msdownload"),
            b"MZ".to_vec(),
        )
        .await;
    assert_eq!(wrong_type.status, 415);
    let error = &wrong_type.json()["errors"][0];
    assert_eq!(error["extensions"]["code"], "UNSUPPORTED_MEDIA_TYPE");
    assert_eq!(error["extensions"]["rule"], "document.type_not_allowed");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("application/pdf")
    );
    let no_type = server
        .request(
            "POST",
            &path,
            Some(&server.token("property_manager")),
            None,
            b"x".to_vec(),
        )
        .await;
    assert_eq!(no_type.status, 415);

    let empty = upload(&server, "board", "Tyhjä", b"").await;
    assert_eq!(
        (empty.status.as_u16(), empty.code().as_str()),
        (400, "BAD_USER_INPUT")
    );
    assert_eq!(
        empty.json()["errors"][0]["extensions"]["rule"],
        "document.empty"
    );

    let property = server.org().properties[COOPERATIVE];
    for (query, parameter) in [
        (
            "title=A&category=minutes&audience=board&filename=a.pdf".to_owned(),
            "propertyId",
        ),
        (
            "propertyId=nope&title=A&category=minutes&audience=board&filename=a.pdf".to_owned(),
            "propertyId",
        ),
        (
            format!("propertyId={property}&category=minutes&audience=board&filename=a.pdf"),
            "title",
        ),
        (
            format!("propertyId={property}&title=A&category=letters&audience=board&filename=a.pdf"),
            "category",
        ),
        (
            format!(
                "propertyId={property}&title=A&category=minutes&audience=everyone&filename=a.pdf"
            ),
            "audience",
        ),
        (
            format!("propertyId={property}&title=A&category=minutes&audience=board"),
            "filename",
        ),
    ] {
        let answer = server
            .request(
                "POST",
                &format!("/documents?{query}"),
                Some(&server.token("property_manager")),
                Some("application/pdf"),
                b"%PDF".to_vec(),
            )
            .await;
        assert_eq!(
            (answer.status.as_u16(), answer.code().as_str()),
            (400, "BAD_USER_INPUT"),
            "{query}"
        );
        let error = &answer.json()["errors"][0];
        assert_eq!(error["extensions"]["field"], parameter, "{query}");
        assert!(error["message"].as_str().unwrap().starts_with(parameter));
    }
}

#[tokio::test]
async fn only_signed_in_office_staff_upload() {
    let server = TestServer::start().await;
    let path = format!(
        "/documents?propertyId={}&title=A&category=minutes&audience=board&filename=a.pdf",
        server.org().properties[COOPERATIVE]
    );
    let anonymous = server
        .request(
            "POST",
            &path,
            None,
            Some("application/pdf"),
            b"%PDF".to_vec(),
        )
        .await;
    assert_eq!(
        (anonymous.status.as_u16(), anonymous.code().as_str()),
        (401, "UNAUTHENTICATED")
    );
    let forged = server
        .request(
            "POST",
            &path,
            Some("not-a-token"),
            Some("application/pdf"),
            b"%PDF".to_vec(),
        )
        .await;
    assert_eq!(forged.status, 401);
    for role in ["board_chair", "shareholder", "contractor", "auditor"] {
        let answer = server
            .request(
                "POST",
                &path,
                Some(&server.token(role)),
                Some("application/pdf"),
                b"%PDF".to_vec(),
            )
            .await;
        assert_eq!(
            (answer.status.as_u16(), answer.code().as_str()),
            (403, "FORBIDDEN"),
            "{role}"
        );
        assert_eq!(
            answer.json()["errors"][0]["extensions"]["rule"],
            "document.manage_requires_office"
        );
    }
    let unknown_property = server
        .request(
            "POST",
            "/documents?propertyId=00000000-0000-0000-0000-000000000001&title=A&category=minutes&audience=board&filename=a.pdf",
            Some(&server.token("property_manager")),
            Some("application/pdf"),
            b"%PDF".to_vec(),
        )
        .await;
    assert_eq!(unknown_property.status, 404);
    let anonymous_download = server
        .request(
            "GET",
            &format!("/documents/{}/content", Uuid::now_v7()),
            None,
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(anonymous_download.status, 401);
}

const CHANGE: &str = r#"mutation($input: ChangeDocumentAudienceInput!) { changeDocumentAudience(input: $input) { replayed document { audience } } }"#;
const WITHDRAW: &str = r#"mutation($input: WithdrawDocumentInput!) { withdrawDocument(input: $input) { document { withdrawn withdrawalReason } } }"#;

fn input(id: &str, extra: Value) -> Value {
    let mut input = json!({ "idempotencyKey": key(), "documentId": id });
    if let (Some(i), Value::Object(e)) = (input.as_object_mut(), extra) {
        i.extend(e);
    }
    json!({ "input": input })
}

#[tokio::test]
async fn the_audience_changes_who_sees_the_document() {
    let server = TestServer::start().await;
    let id = upload_ok(&server, "board", b"%PDF-1.4 tilinpaatos").await;
    let shareholder = server.token("shareholder");
    assert!(!listed(&server, &shareholder).await.contains(&id));
    let changed = server
        .as_role(
            "property_manager",
            CHANGE,
            input(&id, json!({ "audience": "SHAREHOLDERS" })),
        )
        .await;
    assert_eq!(
        changed.data()["changeDocumentAudience"]["document"]["audience"],
        "SHAREHOLDERS"
    );
    assert!(listed(&server, &shareholder).await.contains(&id));
    assert_eq!(download(&server, &shareholder, &id, "").await.status, 200);

    let same = server
        .as_role(
            "property_manager",
            CHANGE,
            input(&id, json!({ "audience": "SHAREHOLDERS" })),
        )
        .await;
    same.assert_refused("BAD_USER_INPUT", "document.audience_unchanged");
    let by_chair = server
        .as_role(
            "board_chair",
            CHANGE,
            input(&id, json!({ "audience": "BOARD" })),
        )
        .await;
    by_chair.assert_refused("FORBIDDEN", "document.manage_requires_office");
    let by_contractor = server
        .as_role(
            "contractor",
            CHANGE,
            input(&id, json!({ "audience": "BOARD" })),
        )
        .await;
    by_contractor.assert_refused("NOT_FOUND", "document.not_visible");
    let unknown = server
        .as_role(
            "property_manager",
            CHANGE,
            input(&Uuid::now_v7().to_string(), json!({ "audience": "BOARD" })),
        )
        .await;
    unknown.assert_refused("NOT_FOUND", "document.not_visible");
}

#[tokio::test]
async fn a_withdrawn_document_is_gone_for_residents_but_not_for_staff_and_auditors() {
    let server = TestServer::start().await;
    let id = upload_ok(&server, "all_residents", b"%PDF-1.4 vanha tiedote").await;
    let withdrawn = server
        .as_role(
            "property_manager",
            WITHDRAW,
            input(&id, json!({ "reason": "Vanhentunut" })),
        )
        .await;
    assert_eq!(
        withdrawn.data()["withdrawDocument"]["document"]["withdrawn"],
        true
    );
    for role in ["shareholder", "board_chair"] {
        let token = server.token(role);
        assert!(!listed(&server, &token).await.contains(&id), "{role}");
        assert_eq!(
            download(&server, &token, &id, "").await.status,
            404,
            "{role}"
        );
    }
    for role in ["property_manager", "customer_service", "auditor"] {
        let token = server.token(role);
        assert!(listed(&server, &token).await.contains(&id), "{role}");
        assert_eq!(
            download(&server, &token, &id, "").await.status,
            200,
            "{role}"
        );
    }
    let again = server
        .as_role(
            "property_manager",
            WITHDRAW,
            input(&id, json!({ "reason": "Taas" })),
        )
        .await;
    again.assert_refused("CONFLICT", "document.withdrawn");
    let blank = server
        .as_role(
            "property_manager",
            WITHDRAW,
            input(
                &upload_ok(&server, "board", b"%PDF x").await,
                json!({ "reason": " " }),
            ),
        )
        .await;
    blank.assert_refused("BAD_USER_INPUT", "text.required");
    let version = server
        .request(
            "POST",
            &format!("/documents/{id}/versions?filename=uusi.pdf"),
            Some(&server.token("property_manager")),
            Some("application/pdf"),
            b"%PDF uusi".to_vec(),
        )
        .await;
    assert_eq!(
        (version.status.as_u16(), version.code().as_str()),
        (409, "CONFLICT")
    );
}

#[tokio::test]
async fn documents_survive_a_restart() {
    let server = TestServer::start().await;
    let bytes = b"%PDF-1.4 pysyva".to_vec();
    let id = upload_ok(&server, "shareholders", &bytes).await;
    let server = server.restart().await;
    let answer = download(&server, &server.token("shareholder"), &id, "").await;
    assert_eq!(answer.bytes, bytes);
}
