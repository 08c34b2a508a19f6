//! The client reads every answer as the client API's type: one that lacks a field or has one
//! of the wrong type is refused with a clear error, never read as an empty string or zero.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;

use mimi_client::{ClientError, Profile};

/// A provider that answers one request with `status` and `body`.
fn provider_answering(status: &'static str, body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut request = vec![0; length];
        reader.read_exact(&mut request).unwrap();
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
    });
    url
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mimi-answers-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn refused_as_bad_answer(result: Result<Profile, ClientError>) -> String {
    match result {
        Err(ClientError::Api(failure)) => {
            assert_eq!(failure.code, "bad-answer", "{failure:?}");
            failure.message
        }
        Err(other) => panic!("refused otherwise: {other}"),
        Ok(_) => panic!("a malformed answer was taken"),
    }
}

#[test]
fn an_answer_missing_a_field_is_refused_and_writes_no_profile() {
    let url = provider_answering("201 Created", r#"{"user": "mimi://a.example/u/alice"}"#);
    let dir = scratch("missing");
    let message = refused_as_bad_answer(Profile::create_account(&dir, &url, "alice", "pw"));
    assert!(message.contains("token"), "{message}");
    assert!(!dir.join("profile.json").exists());
}

#[test]
fn an_answer_with_a_field_of_the_wrong_type_is_refused() {
    let url = provider_answering(
        "200 OK",
        r#"{"user": "mimi://a.example/u/alice", "token": 5}"#,
    );
    let dir = scratch("wrong-type");
    let message = refused_as_bad_answer(Profile::login(&dir, &url, "alice", "pw"));
    assert!(message.contains("/v1/login"), "{message}");
    assert!(!dir.join("profile.json").exists());
}

#[test]
fn an_answer_naming_no_valid_user_is_refused() {
    let url = provider_answering("201 Created", r#"{"user": "", "token": "t"}"#);
    let dir = scratch("bad-user");
    refused_as_bad_answer(Profile::create_account(&dir, &url, "alice", "pw"));
    assert!(!dir.join("profile.json").exists());
}
