//! `HttpFetch` against a small HTTP/1.1 server on a loopback port (a
//! thread per connection, `Connection: close`): a log served over HTTP
//! verifies; 404s are missing tiles named by path; other statuses, slow
//! answers, oversized bodies and refused connections are errors that name
//! the URL; gzip-encoded bundles are decoded; `https://` is refused with a
//! pointer to a TLS-terminating proxy.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use tongxin_tlog::{SignatureType, SignerKey};
use tongxin_tlog_client::{Fetch, FetchError, HttpFetch, LogError, Source, StaticLog, verify_log};

const ORIGIN: &str = "log.tongxin.example/http";

fn key() -> SignerKey {
    SignerKey::from_seed(ORIGIN, SignatureType::Ed25519, [9; 32]).unwrap()
}

fn log_of(n: u64) -> StaticLog {
    let entries: Vec<Vec<u8>> = (0..n).map(|i| format!("entry {i}").into_bytes()).collect();
    StaticLog::build(&entries, &key()).unwrap()
}

/// Serves `files` under `/log/`; `/status/<code>` answers that status,
/// `/slow/…` never answers, `/big` declares a huge body, `/gzip/<path>`
/// serves the file gzip-encoded.
struct Server {
    base: String,
}

impl Server {
    fn start(files: BTreeMap<String, Vec<u8>>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let files = Arc::new(files);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let files = files.clone();
                std::thread::spawn(move || {
                    let _ = answer(stream, &files);
                });
            }
        });
        Server { base: format!("http://{addr}") }
    }
}

fn answer(mut stream: TcpStream, files: &BTreeMap<String, Vec<u8>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
    }
    let path = request_line.split(' ').nth(1).unwrap_or("/").to_owned();
    let respond = |stream: &mut TcpStream, status: &str, headers: &str, body: &[u8]| -> std::io::Result<()> {
        write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n",
            body.len()
        )?;
        stream.write_all(body)?;
        stream.flush()
    };
    if let Some(rest) = path.strip_prefix("/log/") {
        match files.get(rest) {
            Some(body) => respond(&mut stream, "200 OK", "", body),
            None => respond(&mut stream, "404 Not Found", "", b"not found"),
        }
    } else if let Some(code) = path.strip_prefix("/status/") {
        let code = code.split('/').next().unwrap_or("500");
        respond(&mut stream, &format!("{code} Whatever"), "", b"")
    } else if path.starts_with("/slow/") {
        std::thread::sleep(Duration::from_secs(5));
        Ok(())
    } else if path.starts_with("/big/") {
        write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: 999999999999\r\nConnection: close\r\n\r\n")?;
        stream.flush()
    } else if let Some(rest) = path.strip_prefix("/gzip/") {
        match files.get(rest) {
            Some(body) => {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                gz.write_all(body)?;
                let compressed = gz.finish()?;
                respond(&mut stream, "200 OK", "Content-Encoding: gzip\r\n", &compressed)
            }
            None => respond(&mut stream, "404 Not Found", "", b""),
        }
    } else {
        respond(&mut stream, "404 Not Found", "", b"")
    }
}

#[tokio::test]
async fn a_log_served_over_http_verifies_and_tampering_is_named() {
    let log = log_of(3000);
    let server = Server::start(log.files.clone());
    let fetch = HttpFetch::new(&format!("{}/log/", server.base)).unwrap();
    let report = verify_log(&fetch, key().verifier(), None, None, |_| {}).await.unwrap();
    assert_eq!((report.size, report.root), (3000, log.store.root()));

    let mut files = log.files.clone();
    files.get_mut("tile/0/007").unwrap()[40] ^= 1;
    files.remove("tile/entries/009");
    let server = Server::start(files);
    let fetch = HttpFetch::new(&format!("{}/log", server.base)).unwrap();
    let e = verify_log(&fetch, key().verifier(), None, None, |_| {}).await.unwrap_err();
    assert!(matches!(&e, LogError::TileMismatch { path, .. } if path == "tile/0/007"), "{e}");

    let mut files = log.files.clone();
    files.remove("tile/entries/009");
    let server = Server::start(files);
    let fetch = HttpFetch::new(&format!("{}/log", server.base)).unwrap();
    let e = verify_log(&fetch, key().verifier(), None, None, |_| {}).await.unwrap_err();
    assert!(matches!(&e, LogError::MissingBundle { path } if path == "tile/entries/009"), "{e}");
}

#[tokio::test]
async fn http_failures_name_the_url() {
    let log = log_of(10);
    let server = Server::start(log.files.clone());

    let fetch = HttpFetch::new(&format!("{}/status/503", server.base)).unwrap();
    match fetch.get("checkpoint").await {
        Err(FetchError::Status { location, status: 503 }) => {
            assert!(location.ends_with("/status/503/checkpoint"))
        }
        other => panic!("{other:?}"),
    }
    let e = verify_log(&fetch, key().verifier(), None, None, |_| {}).await.unwrap_err();
    assert!(matches!(&e, LogError::Fetch { path, .. } if path == "checkpoint"), "{e}");

    let fetch = HttpFetch::with_timeouts(
        &format!("{}/slow", server.base),
        Duration::from_secs(1),
        Duration::from_millis(300),
    )
    .unwrap();
    assert!(matches!(fetch.get("checkpoint").await, Err(FetchError::Timeout { .. })));

    let fetch = HttpFetch::new(&format!("{}/big", server.base)).unwrap();
    assert!(matches!(fetch.get("tile/0/000").await, Err(FetchError::TooLarge { .. })));

    let fetch = HttpFetch::new(&format!("{}/log", server.base)).unwrap().with_max_bytes(16);
    assert!(matches!(fetch.get("checkpoint").await, Err(FetchError::TooLarge { .. })));

    let fetch = HttpFetch::new(&format!("{}/gzip", server.base)).unwrap();
    let bundle = fetch.get("tile/entries/000.p/10").await.unwrap().unwrap();
    assert_eq!(bundle, log.files["tile/entries/000.p/10"]);
    assert_eq!(fetch.get("nothing/here").await.unwrap(), None);

    // Nothing listens on this port any more.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let fetch = HttpFetch::new(&format!("http://127.0.0.1:{port}/log")).unwrap();
    match fetch.get("checkpoint").await {
        Err(e @ FetchError::Http { .. }) => assert!(e.to_string().contains(&port.to_string()), "{e}"),
        other => panic!("{other:?}"),
    }

    match Source::parse("https://log.example/") {
        Err(e) => assert!(e.to_string().contains("TLS-terminating proxy"), "{e}"),
        Ok(s) => panic!("{s:?}"),
    }
    assert!(matches!(Source::parse("/no/such/dir"), Err(FetchError::BadUrl { .. })));
    assert!(matches!(Source::parse(&server.base), Ok(Source::Http(_))));
}
