//! GraphQL over HTTP and WebSocket for the black-box tests: a query with an optional read-your-writes position,
//! and a `graphql-transport-ws` client that subscribes with the token in `connection_init`.
#![allow(dead_code)]

use std::time::Duration;

use fiks_digisos::eventstore::Position;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::api_support::TestApp;

/// The longest a test waits for a message it expects (a guard against hanging, not a timing assertion).
pub const PATIENCE: Duration = Duration::from_secs(20);

/// An answer of `POST /graphql`: status and body.
#[derive(Debug)]
pub struct GqlReply {
    /// The HTTP status.
    pub status: u16,
    /// The body (`Null` when not JSON).
    pub body: Value,
}

impl GqlReply {
    /// `data`, asserting there are no errors.
    pub fn data(&self) -> &Value {
        assert_eq!(self.status, 200, "{:?}", self.body);
        assert!(self.body.get("errors").is_none(), "unexpected errors: {}", self.body);
        &self.body["data"]
    }

    /// The `extensions.code` of the first error, or the message when it has no code.
    pub fn error_code(&self) -> String {
        let error = &self.body["errors"][0];
        error["extensions"]["code"].as_str().or(error["message"].as_str()).unwrap_or_default().to_owned()
    }

    /// The message of the first error.
    pub fn error_message(&self) -> &str {
        self.body["errors"][0]["message"].as_str().unwrap_or_default()
    }
}

/// Runs `query` with `variables` as `token`'s caller; with `min`, only once the read models have reached it.
pub async fn gql(app: &TestApp, token: Option<&str>, query: &str, variables: Value, min: Option<Position>) -> GqlReply {
    let mut request = app.client().post(format!("{}/graphql", app.base)).json(&json!({
        "query": query, "variables": variables
    }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(position) = min {
        request = request.header("x-digisos-min-position", position.to_string());
    }
    let response = request.send().await.expect("the app answers");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    GqlReply { status, body }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A `graphql-transport-ws` connection.
pub struct Subscriber {
    socket: Socket,
}

impl Subscriber {
    /// Connects and sends `connection_init` with `token`; returns the first answer's type (`connection_ack` when
    /// accepted) and the connection.
    pub async fn connect(app: &TestApp, token: &str) -> (String, Subscriber) {
        let url = format!("{}/graphql/ws", app.base.replacen("http", "ws", 1));
        let mut request = url.into_client_request().expect("a WebSocket request");
        request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().expect("header"));
        let (socket, _) = tokio_tungstenite::connect_async(request).await.expect("the WebSocket opens");
        let mut subscriber = Subscriber { socket };
        let init = json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}});
        subscriber.send(init).await;
        let answer = subscriber.next().await.map(|m| m["type"].as_str().unwrap_or_default().to_owned());
        (answer.unwrap_or_else(|| "closed".to_owned()), subscriber)
    }

    /// Sends one protocol message.
    pub async fn send(&mut self, message: Value) {
        self.socket.send(Message::Text(message.to_string().into())).await.expect("send on the WebSocket");
    }

    /// Starts subscription `id` with `query` and `variables`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}})).await;
    }

    /// The next protocol message other than ping/pong, or `None` when the socket closed. Panics after
    /// [`PATIENCE`].
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("a WebSocket message within the test's patience");
            match message {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return None,
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).expect("a JSON message");
                    match value["type"].as_str() {
                        Some("ping") => self.send(json!({"type": "pong"})).await,
                        Some("pong") => {}
                        _ => return Some(value),
                    }
                }
                Some(Ok(_)) => {}
            }
        }
    }

    /// Reads `next` messages of subscription `id` until one's `payload.data` satisfies `wanted`; returns it.
    pub async fn until(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        loop {
            let message = self.next().await.expect("the subscription stays open");
            assert_eq!(message["type"], "next", "unexpected message: {message}");
            let data = &message["payload"]["data"];
            if wanted(data) {
                return data.clone();
            }
        }
    }
}
