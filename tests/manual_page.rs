//! The kommune's manual web pages (`/kommune`, issue 6 item 5), end to end.
//!
//! The HTTP tests (on SQLite and PostgreSQL) speak to the pages as a browser would, with the session cookie and
//! form posts, and check what they record against the REST mailbox's events. The browser test drives a real
//! headless Chromium through Debian's `chromedriver` (WebDriver, with the `fantoccini` client): it logs in with a minted
//! fagsystem token, opens a delivery, downloads a file with the browser's own session cookie, rejects one
//! delivery and confirms the other, and takes screenshots (saved under `target/manual-page/`) that must decode
//! and show more than a blank page. Without `/usr/bin/chromium` and `/usr/bin/chromedriver` it fails and says to
//! install them (`.ci/test` does).

mod api_support;
mod fagsystem_support;

use std::collections::BTreeSet;
use std::path::PathBuf;

use api_support::*;
use fagsystem_support::*;
use reqwest::Method;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Another reference, for a second søknad.
const REF_2: &str = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a";

/// An answer of a page: status, headers, the HTML.
#[derive(Debug)]
struct Page {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    /// The value of the first hidden `csrf` field.
    fn csrf(&self) -> String {
        let start = self.body.find("name=\"csrf\" value=\"").expect("a form with the csrf field") + 19;
        let end = self.body[start..].find('"').expect("end of the value") + start;
        self.body[start..end].to_owned()
    }

    /// The delivery ids of the mailbox table, in order.
    fn leveranser(&self) -> Vec<String> {
        self.body
            .split("data-leveranse=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().expect("an id").to_owned())
            .collect()
    }
}

/// A client that does not follow redirects (the tests check them) and keeps no cookies (the tests send them).
fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a client")
}

async fn page(app: &TestApp, method: Method, path: &str, cookie: Option<&str>, form: Option<&[(&str, &str)]>) -> Page {
    let mut request = client().request(method, format!("{}{path}", app.base));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    if let Some(fields) = form {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        request = request.header("content-type", "application/x-www-form-urlencoded").body(body);
    }
    let response = request.send().await.expect("the app answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.expect("a body");
    Page { status, headers, body }
}

async fn get(app: &TestApp, path: &str, cookie: &str) -> Page {
    page(app, Method::GET, path, Some(cookie), None).await
}

async fn post(app: &TestApp, path: &str, cookie: &str, form: &[(&str, &str)]) -> Page {
    page(app, Method::POST, path, Some(cookie), Some(form)).await
}

/// Logs in with `token`; the answer.
async fn login(app: &TestApp, token: &str) -> Page {
    page(app, Method::POST, "/kommune/login", None, Some(&[("token", token)])).await
}

/// Logs in with `token` and returns the `Cookie` header value of the session.
async fn session(app: &TestApp, token: &str) -> String {
    let reply = login(app, token).await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    let set_cookie = reply.header("set-cookie");
    set_cookie.split(';').next().expect("name=value").to_owned()
}

/// The form token a session must send: SHA-256 of the session token, as the service derives it.
fn csrf_of(token: &str) -> String {
    hex::encode(Sha256::new_with_prefix(format!("digisos-kommune-csrf:{token}")).finalize())
}

fn mottak_path() -> String {
    format!("/kommune/{FIKS_ORG_ID}/mottak")
}

fn leveranse_path(id: &str) -> String {
    format!("/kommune/{FIKS_ORG_ID}/mottak/{id}")
}

fn id_of(delivery: &Value) -> String {
    delivery["leveranseId"].as_str().expect("leveranseId").to_owned()
}

/// The events of `event_type`, in order.
async fn events_of(app: &TestApp, event_type: &str) -> Vec<StoredEvent> {
    app.events().await.into_iter().filter(|e| e.event_type == event_type).collect()
}

async fn login_refuses_a_citizen_token_and_a_garbage_token_and_sets_a_strict_cookie_for_a_fagsystem(app: &TestApp) {
    let citizen = login(app, &app.citizen(FNR)).await;
    assert_eq!(citizen.status, 403, "{}", citizen.body);
    assert!(citizen.headers.get(SET_COOKIE).is_none(), "no session for a citizen");
    assert!(citizen.body.contains("fagsystemtoken"), "the page says what to use: {}", citizen.body);
    assert!(citizen.header("content-type").starts_with("text/html"));

    let garbage = login(app, "this.is-not.a-token").await;
    assert_eq!(garbage.status, 401, "{}", garbage.body);
    assert!(garbage.headers.get(SET_COOKIE).is_none());
    assert!(garbage.body.contains("Tokenet ble ikke godtatt"), "{}", garbage.body);
    assert!(!garbage.body.contains("this.is-not.a-token"), "the token is not echoed");

    let empty = login(app, "   ").await;
    assert_eq!(empty.status, 400);

    let token = fagsystem(app);
    let ok = login(app, &token).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(ok.header("location"), "/kommune/organisasjoner");
    let cookie = ok.header("set-cookie");
    assert!(cookie.starts_with(&format!("digisos_kommune={token};")), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/kommune"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "development mode serves plain HTTP: {cookie}");

    let cross_site = client()
        .post(format!("{}/kommune/login", app.base))
        .header("sec-fetch-site", "cross-site")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .expect("the app answers");
    assert_eq!(cross_site.status(), 403, "a login form posted from another site is refused");
    assert!(cross_site.headers().get(SET_COOKIE).is_none());
}

async fn the_mailbox_page_lists_a_submitted_delivery_and_downloads_its_files(app: &TestApp) {
    kommuner(app).await;
    let sak = submitted(app, REF).await;
    let rest = mailbox(app).await;
    let cookie = session(app, &fagsystem(app)).await;

    let organisasjoner = get(app, "/kommune/organisasjoner", &cookie).await;
    assert_eq!(organisasjoner.status, 200, "{}", organisasjoner.body);
    assert!(organisasjoner.body.contains(&format!("href=\"/kommune/{FIKS_ORG_ID}/mottak\"")));
    assert!(!organisasjoner.body.contains(OTHER_FIKS_ORG_ID), "only the caller's own organisations");

    let list = get(app, &mottak_path(), &cookie).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.header("content-type").starts_with("text/html"));
    assert!(list.body.contains("<html lang=\"nb\">"));
    assert_eq!(list.leveranser(), vec![id_of(&rest[0])]);
    assert!(list.body.contains(&sak));

    let delivery = get(app, &leveranse_path(&id_of(&rest[0])), &cookie).await;
    assert_eq!(delivery.status, 200, "{}", delivery.body);
    assert!(delivery.body.contains(&sak));
    for fil in rest[0]["filer"].as_array().expect("files") {
        let name = fil["filnavn"].as_str().expect("filnavn");
        assert!(delivery.body.contains(name), "{name} is listed");
    }
    let pdf = &rest[0]["filer"][2];
    assert_eq!(pdf["filnavn"], "Soknad.pdf");
    let link = format!("/kommune/{FIKS_ORG_ID}/dokument/{}", pdf["dokumentlagerDokumentId"].as_str().expect("id"));
    assert!(delivery.body.contains(&format!("href=\"{link}\"")), "the download link is on the page");

    let response = client().get(format!("{}{link}", app.base)).header("cookie", &cookie).send().await.expect("answer");
    assert_eq!(response.status(), 200);
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert_eq!(header("content-type"), "application/pdf");
    assert!(header("content-disposition").starts_with("attachment;"), "{}", header("content-disposition"));
    assert!(header("content-security-policy").contains("sandbox"));
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(response.bytes().await.expect("bytes").to_vec(), file_bytes(2000, 0), "the søknad PDF as Nav sent it");
}

async fn another_kommunes_fagsystem_and_a_visitor_without_a_session_are_refused(app: &TestApp) {
    kommuner(app).await;
    submitted(app, REF).await;
    let delivery = &mailbox(app).await[0];
    let id = id_of(delivery);
    let dokument_id = delivery["filer"][2]["dokumentlagerDokumentId"].as_str().expect("id");
    let dokument = format!("/kommune/{FIKS_ORG_ID}/dokument/{dokument_id}");
    let other_token = other_fagsystem(app);
    let other = session(app, &other_token).await;
    let before = app.event_summary().await;

    for path in [mottak_path(), leveranse_path(&id), dokument.clone()] {
        let refused = get(app, &path, &other).await;
        assert_eq!(refused.status, 403, "{path}: {}", refused.body);
        assert!(refused.header("content-type").starts_with("text/html"), "{path}: a page, not JSON");
        assert!(refused.body.contains("Du har ikke tilgang"));
    }
    let csrf = [("csrf", csrf_of(&other_token))];
    let form: Vec<(&str, &str)> = csrf.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let receipt = post(app, &format!("{}/kvitter", leveranse_path(&id)), &other, &form).await;
    assert_eq!(receipt.status, 403, "{}", receipt.body);
    let mut with_reason = form.clone();
    with_reason.push(("arsak", "ikke vår"));
    let reject = post(app, &format!("{}/avvis", leveranse_path(&id)), &other, &with_reason).await;
    assert_eq!(reject.status, 403, "{}", reject.body);
    // In its own organisation's mailbox our delivery does not exist.
    let own = get(app, &format!("/kommune/{OTHER_FIKS_ORG_ID}/mottak/{id}"), &other).await;
    assert_eq!(own.status, 404);

    let anonymous = page(app, Method::GET, &mottak_path(), None, None).await;
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.header("content-type").starts_with("text/html"));
    assert!(anonymous.body.contains("Logg inn</a> med kommunens fagsystemtoken"), "{}", anonymous.body);
    let citizen_bearer =
        client().get(format!("{}{}", app.base, mottak_path())).bearer_auth(app.citizen(FNR)).send().await.expect("ok");
    assert_eq!(citizen_bearer.status(), 403, "the access rule admits fagsystem tokens only");
    assert_eq!(app.event_summary().await, before, "nothing was recorded");
}

async fn confirming_on_the_page_removes_the_delivery_and_records_the_rest_receipt_event(app: &TestApp) {
    kommuner(app).await;
    submitted(app, REF).await;
    submitted(app, REF_2).await;
    let waiting = mailbox(app).await;
    let (by_rest, by_page) = (id_of(&waiting[0]), id_of(&waiting[1]));
    let token = fagsystem(app);
    let rest_path = format!("/{FIKS_ORG_ID}/mottak/{by_rest}/kvittering");
    assert_eq!(app.send(Method::POST, &rest_path, Some(&token), None).await.status, 204);

    let cookie = session(app, &token).await;
    let delivery = get(app, &leveranse_path(&by_page), &cookie).await;
    let csrf = delivery.csrf();
    let confirmed = post(app, &format!("{}/kvitter", leveranse_path(&by_page)), &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(confirmed.status, 303, "{}", confirmed.body);
    let location = confirmed.header(LOCATION.as_str()).to_owned();
    assert!(location.starts_with(&format!("{}?melding=kvittert&posisjon=", mottak_path())), "{location}");

    let list = get(app, &location, &cookie).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.leveranser().is_empty(), "both deliveries are confirmed: {:?}", list.leveranser());
    assert!(list.body.contains("Mottaket er kvittert"));

    let receipts = events_of(app, "LeveranseKvittert.v1").await;
    assert_eq!(receipts.len(), 2);
    let (rest_event, page_event) = (&receipts[0].data, &receipts[1].data);
    assert_eq!(rest_event["leveranseId"], json!(by_rest));
    assert_eq!(page_event["leveranseId"], json!(by_page));
    let keys = |v: &Value| v.as_object().expect("an object").keys().cloned().collect::<BTreeSet<_>>();
    assert_eq!(keys(page_event), keys(rest_event), "the same event as the REST receipt");
    assert_eq!(page_event["fiksOrgId"], rest_event["fiksOrgId"]);
    let fetched = app.get(&format!("/{FIKS_ORG_ID}/mottak/{by_page}"), Some(&token)).await;
    assert_eq!(fetched.body["status"], "BEKREFTET");
}

async fn a_form_without_the_session_token_or_from_another_site_changes_nothing(app: &TestApp) {
    kommuner(app).await;
    submitted(app, REF).await;
    let id = id_of(&mailbox(app).await[0]);
    let token = fagsystem(app);
    let cookie = session(app, &token).await;
    let csrf = get(app, &leveranse_path(&id), &cookie).await.csrf();
    assert_eq!(csrf, csrf_of(&token), "the form token is the session's");
    let before = app.event_summary().await;
    let path = format!("{}/kvitter", leveranse_path(&id));

    let missing = post(app, &path, &cookie, &[]).await;
    assert_eq!(missing.status, 403, "{}", missing.body);
    let foreign = post(app, &path, &cookie, &[("csrf", &csrf_of("another.session.token"))]).await;
    assert_eq!(foreign.status, 403, "{}", foreign.body);
    let cross_site = client()
        .post(format!("{}{path}", app.base))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "cross-site")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}"))
        .send()
        .await
        .expect("the app answers");
    assert_eq!(cross_site.status(), 403);
    assert_eq!(app.event_summary().await, before, "nothing was recorded");
    assert_eq!(mailbox(app).await.len(), 1);
}

async fn rejecting_without_a_reason_is_refused_with_a_clear_message_and_changes_nothing(app: &TestApp) {
    kommuner(app).await;
    submitted(app, REF).await;
    let id = id_of(&mailbox(app).await[0]);
    let cookie = session(app, &fagsystem(app)).await;
    let csrf = get(app, &leveranse_path(&id), &cookie).await.csrf();
    let path = format!("{}/avvis", leveranse_path(&id));
    let before = app.event_summary().await;

    for blank in [vec![("csrf", csrf.as_str())], vec![("csrf", csrf.as_str()), ("arsak", "  \n ")]] {
        let refused = post(app, &path, &cookie, &blank).await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(refused.body.contains("Du må skrive en årsak for å avvise leveransen"), "{}", refused.body);
        assert!(refused.body.contains("id=\"arsak\""), "the form is shown again");
    }
    assert_eq!(app.event_summary().await, before, "nothing was recorded");

    let reason = "Filene kan ikke leses av fagsystemet";
    let rejected = post(app, &path, &cookie, &[("csrf", &csrf), ("arsak", reason)]).await;
    assert_eq!(rejected.status, 303, "{}", rejected.body);
    let avvist = events_of(app, "LeveranseAvvist.v1").await;
    assert_eq!(avvist.len(), 1);
    assert_eq!(avvist[0].data["arsak"], reason);
    let list = get(app, rejected.header("location"), &cookie).await;
    assert!(list.leveranser().is_empty());
    assert!(list.body.contains("Leveransen er avvist"));
    let after = get(app, &leveranse_path(&id), &cookie).await;
    assert!(after.body.contains("Avvist") && after.body.contains(reason), "{}", after.body);
    assert!(!after.body.contains("id=\"kvitter\""), "an answered delivery has no forms");
}

/// The file name a citizen chose, with markup in it.
const HOSTILE_NAME: &str = "<script>alert(1)</script> & <b>'fet'</b>.png";

async fn file_names_are_html_escaped(app: &TestApp) {
    kommuner(app).await;
    let mut vedlegg = resource("vedlegg/gyldig_standard.json");
    vedlegg["vedlegg"][0]["filer"][0]["filnavn"] = json!(HOSTILE_NAME);
    let mut files = standard_vedlegg();
    files[0].0 = HOSTILE_NAME;
    let mut form = Form::new()
        .json("tilleggsinformasjonJson", &json!({"enhetsnummer": ENHET}))
        .json("soknadJson", &soknad_json(FNR))
        .json("vedleggJson", &vedlegg)
        .pair(0, "Soknad.pdf", &file_bytes(2000, 0));
    for (i, (name, bytes)) in files.iter().enumerate() {
        form = form.pair(i + 1, name, bytes);
    }
    let reply = app.post_form(&format!("/soknader/{KOMMUNE}/{REF}"), Some(&app.citizen(FNR)), form).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    app.caught_up(reply.position()).await;
    let delivery = &mailbox(app).await[0];
    assert_eq!(delivery["filer"][3]["filnavn"], HOSTILE_NAME, "the name is stored as sent");

    let cookie = session(app, &fagsystem(app)).await;
    let page = get(app, &leveranse_path(&id_of(delivery)), &cookie).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("<script>"), "no markup of the file name reaches the page");
    assert!(!page.body.contains("<b>"));
    // Shown as text, in the table and the download attribute alike (askama writes numeric references).
    let escaped = "&#60;script&#62;alert(1)&#60;/script&#62; &#38; &#60;b&#62;&#39;fet&#39;&#60;/b&#62;.png";
    assert_eq!(page.body.matches(escaped).count(), 3, "{}", page.body);
    assert!(page.header("content-security-policy").contains("default-src 'none'"), "and no script would run");
}

on_both_backends!(
    login_refuses_a_citizen_token_and_a_garbage_token_and_sets_a_strict_cookie_for_a_fagsystem,
    the_mailbox_page_lists_a_submitted_delivery_and_downloads_its_files,
    another_kommunes_fagsystem_and_a_visitor_without_a_session_are_refused,
    confirming_on_the_page_removes_the_delivery_and_records_the_rest_receipt_event,
    a_form_without_the_session_token_or_from_another_site_changes_nothing,
    rejecting_without_a_reason_is_refused_with_a_clear_message_and_changes_nothing,
    file_names_are_html_escaped,
);

/// Debian's `chromedriver` on a free port, and browser sessions on it through `fantoccini` (a WebDriver client).
mod webdriver {
    use std::time::{Duration, Instant};

    use fantoccini::elements::Element;
    use fantoccini::{Client, ClientBuilder, Locator};
    use serde_json::{Value, json};

    /// How long to wait for chromedriver, and for a page element to appear after a navigation.
    const WAIT: Duration = Duration::from_secs(20);

    /// `chromedriver` on a free port, killed when dropped.
    pub struct Driver {
        pub base: String,
        _child: tokio::process::Child,
    }

    impl Driver {
        /// Starts `/usr/bin/chromedriver` and waits until it says it is ready.
        pub async fn start() -> Driver {
            let port = {
                let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
                listener.local_addr().expect("addr").port()
            };
            let child = tokio::process::Command::new(super::CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .expect("start chromedriver");
            let base = format!("http://127.0.0.1:{port}");
            let http = reqwest::Client::new();
            let deadline = Instant::now() + WAIT;
            loop {
                let status = http.get(format!("{base}/status")).send().await;
                if let Ok(response) = status
                    && let Ok(body) = response.json::<Value>().await
                    && body["value"]["ready"] == true
                {
                    break;
                }
                assert!(Instant::now() < deadline, "chromedriver did not become ready on port {port}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Driver { base, _child: child }
        }

        /// A new headless Chromium session with its own profile folder (over plain HTTP to the local driver).
        pub async fn session(&self, profile: &std::path::Path) -> Client {
            let options = json!({
                "binary": super::CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,1000", "--lang=nb", "--no-first-run",
                         format!("--user-data-dir={}", profile.display())]
            });
            let mut capabilities = serde_json::Map::new();
            capabilities.insert("browserName".into(), json!("chrome"));
            capabilities.insert("goog:chromeOptions".into(), options);
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            ClientBuilder::new(connector)
                .capabilities(capabilities)
                .connect(&self.base)
                .await
                .unwrap_or_else(|e| panic!("no WebDriver session: {e}"))
        }
    }

    /// The first element matching `css`, waiting for it to appear (a page that is still loading).
    pub async fn wait_for(browser: &Client, css: &str) -> Element {
        match browser.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => {
                let url = browser.current_url().await.map(|u| u.to_string()).unwrap_or_default();
                panic!("no {css} on {url} ({e}): {}", browser.source().await.unwrap_or_default())
            }
        }
    }

    /// The elements matching `css`, now.
    pub async fn find_all(browser: &Client, css: &str) -> Vec<Element> {
        browser.find_all(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"))
    }

    /// An element's visible text.
    pub async fn text(element: &Element) -> String {
        element.text().await.expect("the element's text")
    }

    /// An element's DOM property (`href` is the absolute URL).
    pub async fn property(element: &Element, name: &str) -> Option<String> {
        element.prop(name).await.unwrap_or_else(|e| panic!("property {name}: {e}"))
    }
}

/// Debian's Chromium.
const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's chromedriver (package `chromium-driver`).
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Where the screenshots are kept for a person to look at.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("manual-page")
}

/// Decodes a screenshot and checks that it shows something: its size, and more than a handful of colours with
/// no single colour covering (almost) all of it. Saves it as `name`.
fn check_screenshot(png_bytes: &[u8], name: &str) -> PathBuf {
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    let path = dir.join(name);
    std::fs::write(&path, png_bytes).expect("save the screenshot");

    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a buffer size")];
    let frame = reader.next_frame(&mut pixels).expect("a PNG frame");
    let samples = frame.color_type.samples();
    let pixels = &pixels[..frame.buffer_size()];
    assert!(frame.width >= 800 && frame.height >= 600, "{name}: {}x{}", frame.width, frame.height);
    let mut counts = std::collections::HashMap::<&[u8], usize>::new();
    for pixel in pixels.chunks_exact(samples) {
        *counts.entry(pixel).or_default() += 1;
    }
    let total = pixels.len() / samples;
    let most = counts.values().copied().max().unwrap_or(0);
    assert!(counts.len() >= 16, "{name} shows only {} colours: a blank page? ({})", counts.len(), path.display());
    assert!(
        most * 100 < total * 98,
        "{name} is {}% one colour: a blank page? ({})",
        most * 100 / total,
        path.display()
    );
    path
}

#[tokio::test]
async fn browser_logs_in_downloads_a_file_rejects_one_delivery_and_confirms_another() {
    for binary in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            std::path::Path::new(binary).exists(),
            "{binary} is missing: the browser test needs Debian's Chromium and its WebDriver; install them with \
             `apt-get install -y chromium chromium-driver` (.ci/test does)"
        );
    }
    let app = TestApp::start(Backend::Sqlite).await;
    kommuner(&app).await;
    let first = submitted(&app, REF).await;
    let second = submitted(&app, REF_2).await;
    let token = fagsystem(&app);

    let driver = webdriver::Driver::start().await;
    let profile = tempfile::tempdir().expect("a profile folder");
    let browser = driver.session(profile.path()).await;
    let outcome =
        futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(browse(&app, &browser, &token, &first, &second)))
            .await;
    let _ = browser.close().await;
    drop(driver);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }

    let avvist = events_of(&app, "LeveranseAvvist.v1").await;
    assert_eq!(avvist.len(), 1);
    assert_eq!(avvist[0].data["arsak"], "Fagsystemet kan ikke lese vedleggene");
    assert_eq!(events_of(&app, "LeveranseKvittert.v1").await.len(), 1);
    assert!(mailbox(&app).await.is_empty());
    app.finish().await;
}

/// The browser's part: what a kommune's staff member does.
async fn browse(app: &TestApp, browser: &fantoccini::Client, token: &str, first: &str, second: &str) {
    use webdriver::{find_all, property, text, wait_for};
    browser.goto(&format!("{}/kommune", app.base)).await.expect("the login page");
    wait_for(browser, "textarea#token").await.send_keys(token).await.expect("type the token");
    wait_for(browser, "button#logg-inn").await.click().await.expect("log in");

    wait_for(browser, "a.mottak-lenke").await.click().await.expect("open the mailbox");
    wait_for(browser, "table#leveranser").await;
    let rows = find_all(browser, "a.leveranse-lenke").await;
    assert_eq!(rows.len(), 2, "both søknader wait");
    let source = browser.source().await.expect("the page source");
    assert!(source.contains(first) && source.contains(second));
    check_screenshot(&browser.screenshot().await.expect("a screenshot"), "mottak.png");

    // The oldest delivery: open it, download the søknad PDF with the browser's own session, reject it.
    rows[0].click().await.expect("open the delivery");
    wait_for(browser, "table#filer").await;
    let heading = text(&wait_for(browser, "h1").await).await;
    assert!(heading.contains(first), "{heading}");
    let mut pdf = None;
    for link in find_all(browser, "a.fil-lenke").await {
        if property(&link, "download").await.as_deref() == Some("Soknad.pdf") {
            pdf = property(&link, "href").await;
        }
    }
    let href = pdf.expect("a download link for Soknad.pdf");
    let cookie = browser.get_named_cookie("digisos_kommune").await.expect("the session cookie");
    let cookie = cookie.value().to_owned();
    assert_eq!(cookie, token, "the session cookie holds the token");
    let response =
        client().get(&href).header("cookie", format!("digisos_kommune={cookie}")).send().await.expect("download");
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.expect("bytes").to_vec(), file_bytes(2000, 0), "the bytes arrive");
    let saved = check_screenshot(&browser.screenshot().await.expect("a screenshot"), "leveranse.png");
    eprintln!("screenshots in {}", saved.parent().map(|p| p.display().to_string()).unwrap_or_default());

    let reason = wait_for(browser, "textarea#arsak").await;
    reason.send_keys("Fagsystemet kan ikke lese vedleggene").await.expect("type the reason");
    wait_for(browser, "button#avvis").await.click().await.expect("reject");
    let melding = text(&wait_for(browser, "#melding").await).await;
    assert!(melding.contains("avvist"), "{melding}");
    let rows = find_all(browser, "a.leveranse-lenke").await;
    assert_eq!(rows.len(), 1, "the rejected delivery left the list");

    // The other: open it and confirm receipt.
    rows[0].click().await.expect("open the delivery");
    wait_for(browser, "#status").await;
    let heading = text(&wait_for(browser, "h1").await).await;
    assert!(heading.contains(second), "{heading}");
    wait_for(browser, "button#kvitter").await.click().await.expect("confirm receipt");
    let empty = text(&wait_for(browser, "#tomt").await).await;
    assert!(empty.contains("Ingen leveranser venter"), "{empty}");
    check_screenshot(&browser.screenshot().await.expect("a screenshot"), "mottak-tomt.png");
}
