//! Where a verifier reads a log from: the [`Fetch`] trait (one GET of a path
//! below the log prefix, `None` when the resource does not exist) and its
//! implementations: [`DirFetch`] for a directory in the C2SP static layout
//! (`DIR/checkpoint`, `DIR/tile/...`), [`HttpFetch`] for a plain-HTTP base
//! URL, and [`MemoryFetch`] for files held in memory (tests, benchmarks).
//!
//! Every implementation bounds what it reads ([`MAX_RESPONSE_BYTES`] by
//! default: the largest possible entry bundle), and the HTTP one also bounds
//! time (connect and whole-request timeouts).
//!
//! **HTTPS is not supported**: the client has no TLS stack. Put a
//! TLS-terminating proxy in front (or verify a mirrored directory); TLS
//! support is future work. Authenticity does not depend on the transport:
//! every byte fetched is checked against the log's signed checkpoint.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use http_body_util::{BodyExt as _, Empty, Limited};
use hyper::body::Bytes;
use hyper::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, USER_AGENT};
use hyper::{Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tongxin_tlog::MAX_ENTRY_SIZE;

/// Largest response any fetcher accepts by default: a full entry bundle of
/// 256 maximal entries, each with its 2-byte length (about 16 MiB).
pub const MAX_RESPONSE_BYTES: usize = 256 * (2 + MAX_ENTRY_SIZE);
/// Default time for a whole HTTP request, from connecting to the last byte.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time to establish a TCP connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a resource could not be fetched (as opposed to: it does not exist,
/// which is `Ok(None)`).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{path:?} is not a relative log path (no \"..\", \".\", empty or absolute parts)")]
    BadPath { path: String },
    #[error("cannot read {location}: {source}")]
    Io {
        location: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{location} is {size} bytes or more, over the limit of {limit}")]
    TooLarge { location: String, size: u64, limit: usize },
    #[error("{location} answered HTTP status {status}")]
    Status { location: String, status: u16 },
    #[error("{location} did not answer within {timeout:?}")]
    Timeout { location: String, timeout: Duration },
    #[error("fetching {location} failed: {message}")]
    Http { location: String, message: String },
    #[error("{location} has Content-Encoding {encoding:?}, which this client does not decode")]
    Encoding { location: String, encoding: String },
    #[error("{url:?} is not a usable log URL: {reason}")]
    BadUrl { url: String, reason: String },
}

/// Reads resources of a log by their path below the log prefix
/// (`checkpoint`, `tile/0/000`, `tile/entries/x001/234.p/7`, …).
///
/// Implementations may be written with `async fn get`; the returned future
/// must be `Send` so verification can run on any executor.
pub trait Fetch {
    /// Where `path` is read from (a file name or URL), for messages.
    fn location(&self, path: &str) -> String;

    /// The bytes of `path`, `Ok(None)` if it does not exist (a missing file,
    /// HTTP 404 or 410), or why it could not be read.
    fn get(&self, path: &str) -> impl Future<Output = Result<Option<Vec<u8>>, FetchError>> + Send;
}

/// Refuses paths that could leave the log prefix: only relative paths of
/// non-empty, non-dot components of printable ASCII.
pub fn check_path(path: &str) -> Result<(), FetchError> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.split('/').any(|c| c.is_empty() || c == "." || c == "..")
        || !path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\' && b != b'?' && b != b'#' && b != b'%');
    if bad {
        return Err(FetchError::BadPath { path: path.to_owned() });
    }
    Ok(())
}

// ------------------------------------------------------------ directory

/// A log published as static files in a directory (the C2SP layout a web
/// server or object store would serve).
#[derive(Clone, Debug)]
pub struct DirFetch {
    root: PathBuf,
    max_bytes: usize,
}

impl DirFetch {
    /// Reads the log under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirFetch { root: root.into(), max_bytes: MAX_RESPONSE_BYTES }
    }

    /// Changes the largest file accepted.
    pub fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl Fetch for DirFetch {
    fn location(&self, path: &str) -> String {
        self.root.join(path).display().to_string()
    }

    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, FetchError> {
        check_path(path)?;
        let file = self.root.join(path);
        let io = |source| FetchError::Io { location: file.display().to_string(), source };
        let absent = |e: &std::io::Error| {
            matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory)
        };
        let meta = match tokio::fs::metadata(&file).await {
            Ok(m) => m,
            Err(e) if absent(&e) => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        if meta.is_dir() {
            // `tile/0/000.p` is a directory of partial tiles, never a resource.
            return Ok(None);
        }
        let too_large = |size: u64| FetchError::TooLarge {
            location: file.display().to_string(),
            size,
            limit: self.max_bytes,
        };
        if meta.len() > self.max_bytes as u64 {
            return Err(too_large(meta.len()));
        }
        let data = match tokio::fs::read(&file).await {
            Ok(d) => d,
            Err(e) if absent(&e) => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        // The file may have grown between the two calls.
        if data.len() > self.max_bytes {
            return Err(too_large(data.len() as u64));
        }
        Ok(Some(data))
    }
}

// ----------------------------------------------------------------- HTTP

/// A log served over plain HTTP at a base URL (the log prefix), e.g.
/// `http://127.0.0.1:8080/log/`.
///
/// Sends `Accept-Encoding: gzip, identity` as tlog-tiles asks and decodes
/// gzip bodies within the size limit. No redirects are followed (a 3xx is
/// an error naming the status). HTTPS needs a TLS-terminating proxy: this
/// client has no TLS stack (future work).
#[derive(Clone, Debug)]
pub struct HttpFetch {
    base: String,
    client: Client<HttpConnector, Empty<Bytes>>,
    timeout: Duration,
    max_bytes: usize,
}

impl HttpFetch {
    /// A fetcher for the log at `base_url` (`http://host[:port][/prefix][/]`)
    /// with the default timeouts and size limit. Must be called within a
    /// Tokio runtime's context only when fetching, not when building.
    pub fn new(base_url: &str) -> Result<Self, FetchError> {
        Self::with_timeouts(base_url, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT)
    }

    /// A fetcher with explicit connect and whole-request timeouts.
    pub fn with_timeouts(base_url: &str, connect: Duration, request: Duration) -> Result<Self, FetchError> {
        let bad = |reason: &str| FetchError::BadUrl { url: base_url.to_owned(), reason: reason.to_owned() };
        if base_url.starts_with("https://") {
            return Err(bad(
                "https is not supported by this client (no TLS stack); verify through a TLS-terminating \
                 proxy that serves plain http, or a mirrored directory",
            ));
        }
        if !base_url.starts_with("http://") {
            return Err(bad("it must start with http://"));
        }
        if base_url.contains('?') || base_url.contains('#') {
            return Err(bad("it must not have a query or fragment"));
        }
        let base = base_url.trim_end_matches('/').to_owned();
        let uri: Uri = format!("{base}/checkpoint").parse().map_err(|e| bad(&format!("{e}")))?;
        if uri.host().is_none_or(str::is_empty) {
            return Err(bad("it has no host"));
        }
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(connect));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(HttpFetch { base, client, timeout: request, max_bytes: MAX_RESPONSE_BYTES })
    }

    /// Changes the largest response body accepted (after decoding).
    pub fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// The base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn get_url(&self, url: &str) -> Result<Option<Vec<u8>>, FetchError> {
        let http = |message: String| FetchError::Http { location: url.to_owned(), message };
        let uri: Uri = url.parse().map_err(|e| http(format!("bad URL: {e}")))?;
        let request = Request::get(uri)
            .header(USER_AGENT, concat!("tongxin-tlog-client/", env!("CARGO_PKG_VERSION")))
            .header(ACCEPT_ENCODING, "gzip, identity")
            .body(Empty::<Bytes>::new())
            .map_err(|e| http(e.to_string()))?;
        let response = self.client.request(request).await.map_err(|e| http(error_chain(&e)))?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
            return Ok(None);
        }
        if status != StatusCode::OK {
            return Err(FetchError::Status { location: url.to_owned(), status: status.as_u16() });
        }
        let too_large =
            |size: u64| FetchError::TooLarge { location: url.to_owned(), size, limit: self.max_bytes };
        let declared = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if let Some(len) = declared.filter(|&len| len > self.max_bytes as u64) {
            return Err(too_large(len));
        }
        let encoding = response
            .headers()
            .get(CONTENT_ENCODING)
            .map(|v| v.to_str().unwrap_or("(not ASCII)").trim().to_ascii_lowercase());
        let body = Limited::new(response.into_body(), self.max_bytes);
        let bytes = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return Err(too_large(self.max_bytes as u64 + 1));
            }
            Err(e) => return Err(http(format!("reading the body: {}", error_chain(e.as_ref())))),
        };
        match encoding.as_deref() {
            None | Some("identity") | Some("") => Ok(Some(bytes.to_vec())),
            Some("gzip") | Some("x-gzip") => {
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(&bytes[..])
                    .take(self.max_bytes as u64 + 1)
                    .read_to_end(&mut out)
                    .map_err(|e| http(format!("bad gzip body: {e}")))?;
                if out.len() > self.max_bytes {
                    return Err(too_large(out.len() as u64));
                }
                Ok(Some(out))
            }
            Some(other) => Err(FetchError::Encoding { location: url.to_owned(), encoding: other.to_owned() }),
        }
    }
}

/// An error and its sources on one line ("connection refused" is usually
/// two levels down in hyper's errors).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

impl Fetch for HttpFetch {
    fn location(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, FetchError> {
        check_path(path)?;
        let url = self.location(path);
        match tokio::time::timeout(self.timeout, self.get_url(&url)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout { location: url, timeout: self.timeout }),
        }
    }
}

// --------------------------------------------------------------- memory

/// A log's files held in memory, by path.
#[derive(Clone, Debug, Default)]
pub struct MemoryFetch {
    /// The files, by path below the log prefix.
    pub files: BTreeMap<String, Vec<u8>>,
}

impl MemoryFetch {
    /// Serves `files`.
    pub fn new(files: BTreeMap<String, Vec<u8>>) -> Self {
        MemoryFetch { files }
    }
}

impl Fetch for MemoryFetch {
    fn location(&self, path: &str) -> String {
        format!("memory:{path}")
    }

    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, FetchError> {
        check_path(path)?;
        Ok(self.files.get(path).cloned())
    }
}

// ------------------------------------------------------------ either one

/// A log source named on a command line: an `http://` URL or a directory.
#[derive(Clone, Debug)]
pub enum Source {
    Dir(DirFetch),
    Http(HttpFetch),
}

impl Source {
    /// `http://…` is a URL (with the default timeouts), `https://…` is
    /// refused (no TLS), anything else is a directory that must exist.
    pub fn parse(arg: &str) -> Result<Source, FetchError> {
        Self::parse_with_timeout(arg, DEFAULT_TIMEOUT)
    }

    /// As [`Source::parse`], with a whole-request timeout for URLs.
    pub fn parse_with_timeout(arg: &str, timeout: Duration) -> Result<Source, FetchError> {
        if arg.contains("://") {
            return Ok(Source::Http(HttpFetch::with_timeouts(
                arg,
                DEFAULT_CONNECT_TIMEOUT.min(timeout),
                timeout,
            )?));
        }
        let dir = Path::new(arg);
        if !dir.is_dir() {
            return Err(FetchError::BadUrl {
                url: arg.to_owned(),
                reason: "it is neither an http:// URL nor an existing directory".to_owned(),
            });
        }
        Ok(Source::Dir(DirFetch::new(dir)))
    }
}

impl Fetch for Source {
    fn location(&self, path: &str) -> String {
        match self {
            Source::Dir(d) => d.location(path),
            Source::Http(h) => h.location(path),
        }
    }

    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, FetchError> {
        match self {
            Source::Dir(d) => d.get(path).await,
            Source::Http(h) => h.get(path).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_below_the_prefix() {
        for ok in ["checkpoint", "tile/0/000", "tile/entries/x001/234.p/7"] {
            assert!(check_path(ok).is_ok(), "{ok}");
        }
        for bad in ["", "/etc/passwd", "../x", "tile/../../x", "tile//0", "tile/./0", "a\\b", "a b", "a?b"] {
            assert!(check_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn urls_are_checked() {
        assert!(matches!(HttpFetch::new("https://example.com/log"), Err(FetchError::BadUrl { .. })));
        assert!(matches!(HttpFetch::new("ftp://example.com/log"), Err(FetchError::BadUrl { .. })));
        assert!(matches!(HttpFetch::new("http://"), Err(FetchError::BadUrl { .. })));
        let h = HttpFetch::new("http://example.com/log/").unwrap();
        assert_eq!(h.location("tile/0/000"), "http://example.com/log/tile/0/000");
    }
}
