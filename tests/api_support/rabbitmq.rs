//! A private RabbitMQ node for one test: its own node name, AMQP and distribution ports, data and log folders,
//! and configuration, so the machine's broker is never touched (as `tests/outage.rs` runs its own PostgreSQL).
//! Needs RabbitMQ's server scripts (Debian's `rabbitmq-server` package) at `/usr/lib/rabbitmq/bin`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

const SERVER: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";

pub struct RabbitNode {
    pub port: u16,
    dist: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    name: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port()
}

impl RabbitNode {
    /// Starts a node and waits until it takes AMQP logins (user guest, from localhost).
    pub async fn start() -> RabbitNode {
        let mut node = RabbitNode::new();
        node.boot().await;
        node
    }

    /// A node with its ports, folders and configuration chosen, not started yet ([`Self::boot`]): its
    /// [`Self::url`] is known before it runs, so a hub can be started with it first.
    pub fn new() -> RabbitNode {
        assert!(std::path::Path::new(SERVER).exists(), "RabbitMQ's server ({SERVER}) is not installed");
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let dist = free_port();
        let name = format!("digisos-test-{}@localhost", uuid::Uuid::new_v4().simple());
        let path = |p: &str| -> PathBuf { dir.path().join(p) };
        std::fs::write(path("rabbitmq.conf"), format!("listeners.tcp.default = {port}\nloopback_users = none\n"))
            .expect("config");
        std::fs::write(path("env.conf"), "").expect("env file");
        std::fs::write(path("enabled_plugins"), "[].\n").expect("plugins file");
        RabbitNode { port, dist, dir, child: None, name }
    }

    /// Lets the node check logins it does not know itself with the hub at `hub` (RabbitMQ's HTTP auth backend,
    /// as the README's operator set-up has it): its own users (guest) first, then the hub.
    pub fn with_hub_logins(&mut self, hub: &str) {
        let path = |p: &str| -> PathBuf { self.dir.path().join(p) };
        let mut config = std::fs::read_to_string(path("rabbitmq.conf")).expect("config");
        config.push_str(&format!(
            "auth_backends.1 = internal\nauth_backends.2 = http\nauth_http.http_method = post\n\
             auth_http.user_path = {hub}/fiks-io/amqp-auth/user\nauth_http.vhost_path = {hub}/fiks-io/amqp-auth/vhost\n\
             auth_http.resource_path = {hub}/fiks-io/amqp-auth/resource\n\
             auth_http.topic_path = {hub}/fiks-io/amqp-auth/topic\n"
        ));
        std::fs::write(path("rabbitmq.conf"), config).expect("config");
        std::fs::write(path("enabled_plugins"), "[rabbitmq_auth_backend_http].\n").expect("plugins file");
    }

    /// Starts the node and waits until it takes AMQP logins (user guest, from localhost).
    pub async fn boot(&mut self) {
        self.spawn();
        self.wait_ready().await;
    }

    /// Starts the node again after [`Self::kill`], on the same ports and data (durable queues and persistent
    /// messages survive, as on a broker restart).
    pub async fn restart(&mut self) {
        self.spawn();
        self.wait_ready().await;
    }

    fn spawn(&mut self) {
        let dist = self.dist;
        let path = |p: &str| self.dir.path().join(p);
        let log = std::fs::OpenOptions::new().create(true).append(true).open(path("server.log")).expect("log file");
        let child = Command::new(SERVER)
            .env("HOME", self.dir.path())
            .env("RABBITMQ_NODENAME", &self.name)
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", dist.to_string())
            .env("RABBITMQ_MNESIA_BASE", path("mnesia"))
            .env("RABBITMQ_LOG_BASE", path("log"))
            .env("RABBITMQ_CONFIG_FILE", path("rabbitmq.conf"))
            .env("RABBITMQ_CONF_ENV_FILE", path("env.conf"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", path("enabled_plugins"))
            .env("RABBITMQ_PID_FILE", path("pid"))
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("start rabbitmq-server");
        self.child = Some(child);
    }

    async fn wait_ready(&self) {
        let url = self.url();
        for _ in 0..240 {
            let connect = lapin::Connection::connect(&url, lapin::ConnectionProperties::default());
            if let Ok(Ok(connection)) = tokio::time::timeout(Duration::from_secs(2), connect).await {
                let _ = connection.close(200, "ready".into()).await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        panic!("the test RabbitMQ node did not start within a minute:\n{log}");
    }

    /// The guest user's URL.
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// Stops the node at once (SIGKILL of its process group: the start script and the Erlang VM).
    pub fn kill(&mut self) {
        self.signal("-KILL");
    }

    /// Stops the node as an operator's `systemctl stop` does (SIGTERM: RabbitMQ shuts down in order).
    pub fn stop(&mut self) {
        self.signal("-TERM");
    }

    fn signal(&mut self, signal: &str) {
        if let Some(child) = self.child.take()
            && let Some(pid) = child.id()
        {
            let _ = std::process::Command::new("kill").args([signal, "--", &format!("-{pid}")]).status();
            // The Erlang VM must be gone before the node can start again on the same name and ports.
            for _ in 0..600 {
                if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

impl Drop for RabbitNode {
    fn drop(&mut self) {
        self.kill();
    }
}
