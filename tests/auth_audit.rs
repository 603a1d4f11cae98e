//! The audit trail of Nav staff access, on the real event store backends: the record is an event appended before
//! anything else happens, a failed append fails the record (so the read must fail), the CEF line goes to the
//! `audit` target only after the append, and the personal number appears in plain text nowhere but there.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fiks_digisos::auth::audit::{AUDIT_TARGET, STAFF_ACCESS_RECORDED, StaffAccessRecorded};
use fiks_digisos::auth::{
    AuditError, AuditLog, Authenticator, Decision, DevIssuer, DevRole, Fnr, NavIdent, SporingsId, StaffAccess,
    VerifyOptions,
};
use fiks_digisos::eventstore::open::Database;
use fiks_digisos::eventstore::{DynEventStore, StreamName};
use fiks_digisos::testkit::FreshPostgres;
use serde_json::{Value, json};
use tracing_subscriber::fmt::MakeWriter;

const FNR: &str = "01817012309";
const SPORINGS_ID: &str = "7b0c4f0e-8a52-4bb1-9d4e-0d1f6a2e3c55";

/// Collects every log line (JSON, all levels, all targets) written while it is the default subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let subscriber =
            tracing_subscriber::fmt().json().with_max_level(tracing::Level::TRACE).with_writer(self.clone()).finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    fn audit_lines(&self) -> Vec<(String, String)> {
        self.lines()
            .into_iter()
            .filter(|l| l["target"] == AUDIT_TARGET)
            .map(|l| (l["level"].as_str().unwrap().to_string(), l["fields"]["message"].as_str().unwrap().to_string()))
            .collect()
    }
}

fn access(decision: Decision) -> StaffAccess {
    StaffAccess {
        navident: NavIdent::parse("Z123456").unwrap(),
        fnr: Fnr::parse(FNR).unwrap(),
        what: "soknader:list".into(),
        sporings_id: SporingsId::parse(SPORINGS_ID).unwrap(),
        decision,
        method: "POST".into(),
        path: "/digisos/api/v1/nav/soknader/soknader".into(),
        call_id: Some("req-42".into()),
    }
}

async fn postgres() -> (FreshPostgres, Database, DynEventStore) {
    let db = FreshPostgres::create().await.unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
    let database = Database::connect(db.url()).await.unwrap();
    database.migrate().await.unwrap();
    let store = database.event_store();
    (db, database, store)
}

async fn audit_events(store: &DynEventStore) -> Vec<StaffAccessRecorded> {
    let stream = StreamName::parse("audit-Z123456").unwrap();
    let events = store.read_stream(&stream, 0, 100).await.unwrap();
    assert!(events.iter().all(|e| e.event_type == STAFF_ACCESS_RECORDED));
    events.into_iter().map(|e| serde_json::from_value(e.data).unwrap()).collect()
}

#[tokio::test]
async fn a_permitted_access_is_an_event_on_the_employees_stream_then_an_info_cef_line() {
    let (db, database, store) = postgres().await;
    let logs = Captured::default();
    let _guard = logs.install();

    AuditLog::new(store.clone()).record(&access(Decision::Permit)).await.unwrap();

    let events = audit_events(&store).await;
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!((e.navident.as_str(), e.fnr.expose(), e.what.as_str()), ("Z123456", FNR, "soknader:list"));
    assert_eq!((e.sporings_id.as_str(), e.decision), (SPORINGS_ID, Decision::Permit));
    assert_eq!(e.path, "/digisos/api/v1/nav/soknader/soknader");
    let expected = format!(
        "CEF:0|fiks-digisos|sporingslogg|1.0|audit:access|soknader:list|INFO|end={} suid=Z123456 duid={FNR} \
         sproc=req-42 dproc=fiks-digisos request=/digisos/api/v1/nav/soknader/soknader requestMethod=POST \
         flexString1=Permit flexString1Label=Decision cs5={SPORINGS_ID} cs5Label=fiksRequestId",
        e.when.timestamp_millis()
    );
    assert_eq!(logs.audit_lines(), [("INFO".to_string(), expected)]);
    database.close().await;
    db.drop().await;
}

#[tokio::test]
async fn a_refusal_is_recorded_as_deny_and_logged_as_warn_on_sqlite_too() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("events.db").display());
    let database = Database::connect(&url).await.unwrap();
    database.migrate().await.unwrap();
    let store = database.event_store();
    let logs = Captured::default();
    let _guard = logs.install();
    let audit = AuditLog::new(store.clone());

    audit.record(&access(Decision::Permit)).await.unwrap();
    audit.record(&access(Decision::Deny)).await.unwrap();

    let decisions: Vec<Decision> = audit_events(&store).await.iter().map(|e| e.decision).collect();
    assert_eq!(decisions, [Decision::Permit, Decision::Deny]);
    let lines = logs.audit_lines();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1].0, "WARN");
    assert!(lines[1].1.contains("|audit:access|soknader:list|WARN|") && lines[1].1.contains(" flexString1=Deny "));
    database.close().await;
}

#[tokio::test]
async fn when_the_database_is_gone_record_fails_and_no_audit_line_claims_otherwise() {
    let (db, database, store) = postgres().await;
    let logs = Captured::default();
    let _guard = logs.install();
    // Drop the database under the open store (FORCE ends its connections).
    db.drop().await;

    let result = tokio::time::timeout(Duration::from_secs(60), AuditLog::new(store).record(&access(Decision::Permit)))
        .await
        .expect("record must fail, not hang");
    assert!(matches!(result, Err(AuditError::Store(_))), "{result:?}");
    assert!(logs.audit_lines().is_empty(), "no CEF line for an access that was not recorded");
    database.close().await;
}

#[tokio::test]
async fn the_personal_number_is_in_plain_text_only_on_the_audit_target() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("events.db").display());
    let database = Database::connect(&url).await.unwrap();
    database.migrate().await.unwrap();
    let dev = Arc::new(DevIssuer::load_or_create(dir.path()).unwrap());
    let auth = Authenticator::new(Vec::new(), Some(dev.clone()), VerifyOptions::default()).unwrap();
    let logs = Captured::default();
    let _guard = logs.install();

    // A citizen signs in, the caller is logged the way a careless handler would log it ...
    let token = dev.mint(&DevRole::Citizen(Fnr::parse(FNR).unwrap()), Duration::from_secs(300)).unwrap();
    let caller = auth.verify(&token).await.unwrap().caller;
    tracing::info!(?caller, "handled a request");
    // ... a token with a personal number that fails its control digits is refused ...
    let bad = dev
        .sign(&json!({"iss": "digisos-dev", "aud": "digisos", "exp": chrono::Utc::now().timestamp() + 60,
                               "pid": "01817012308", "acr": "idporten-loa-high"}))
        .unwrap();
    assert!(auth.verify(&bad).await.is_err());
    // ... and a staff lookup of that person is audited.
    AuditLog::new(database.event_store()).record(&access(Decision::Permit)).await.unwrap();

    let lines = logs.lines();
    let (audit, ordinary): (Vec<_>, Vec<_>) = lines.iter().partition(|l| l["target"] == AUDIT_TARGET);
    assert!(ordinary.iter().any(|l| l.to_string().contains("018170*****")), "the masked form is what logs show");
    for line in &ordinary {
        let text = line.to_string();
        assert!(!text.contains(FNR) && !text.contains("01817012308"), "personal number in an ordinary log: {text}");
    }
    assert_eq!(audit.len(), 1);
    assert!(audit[0].to_string().contains(&format!("duid={FNR}")));
    database.close().await;
}
