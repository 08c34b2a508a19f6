//! Starting with no configuration, answering, stopping on SIGTERM.

use crate::http::request;
use crate::server::{Server, scratch};

#[test]
fn serve_starts_without_configuration_answers_healthz_and_stops_on_sigterm() {
    let dir = scratch("lifecycle");
    let server = Server::start(&dir, &[]);
    let (status, body) = request(server.addr, "GET", "/healthz", None, None).unwrap();
    assert_eq!((status, body.as_str()), (200, Some("ok")));
    let (status, body) = request(server.addr, "GET", "/v1/devices", None, None).unwrap();
    assert_eq!(status, 401);
    assert_eq!(body["code"], "unauthorized");
    assert_eq!(server.terminate(), Some(0));
    assert!(dir.join("mimi.db").exists(), "SQLite under --data-dir");
    let _ = std::fs::remove_dir_all(dir);
}
