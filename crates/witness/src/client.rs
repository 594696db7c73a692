//! The client side of `c2sp.org/tlog-witness`: `POST <witness URL>/add-checkpoint`
//! over plain HTTP with hyper-util's pooled client (keep-alive, as the spec
//! asks clients to use), returning the cosignature lines unverified — the
//! caller checks them against the witness key it trusts (for example with
//! [`tongxin_tlog::witness::attach_cosignatures`]).
//!
//! A `409 Conflict` is returned as [`WitnessClientError::Conflict`] with the
//! witness's latest cosigned size from the body, so the caller can retry with
//! that old size and a matching consistency proof ("If a client doesn't have
//! information on the latest cosigned checkpoint, it MAY initially make a
//! request with a old size of zero to obtain it").

use std::time::Duration;
use tongxin_tlog_client::error_chain;

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, USER_AGENT};
use hyper::{Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tongxin_tlog::witness::{
    ADD_CHECKPOINT_PATH, MAX_REQUEST_SIZE, parse_add_checkpoint_response, parse_conflict_body,
};
use tongxin_tlog::{AddCheckpointRequest, NoteSignature};

/// Why a witness gave no cosignature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessClientError {
    #[error("witness URL {url:?} is unusable: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("witness {witness}: {message}")]
    Http { witness: String, message: String },
    #[error("witness {witness} did not answer within {timeout:?}")]
    Timeout { witness: String, timeout: Duration },
    /// 409: the old size was not the witness's latest cosigned size, or the
    /// witness cosigned a different root for the same size.
    #[error("witness {witness} answered 409 Conflict: it last cosigned size {size}")]
    Conflict { witness: String, size: u64 },
    /// Any other status than 200 and 409, with the start of the body.
    #[error("witness {witness} answered {status}: {message}")]
    Status { witness: String, status: u16, message: String },
    #[error("witness {witness} sent an unusable response: {reason}")]
    BadResponse { witness: String, reason: String },
}

impl WitnessClientError {
    /// The HTTP status the witness answered, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            WitnessClientError::Conflict { .. } => Some(409),
            WitnessClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A witness client; keeps connections alive between calls. Cheap to clone.
#[derive(Clone, Debug)]
pub struct WitnessClient {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Default for WitnessClient {
    fn default() -> Self {
        WitnessClient::new()
    }
}

impl WitnessClient {
    pub fn new() -> WitnessClient {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        WitnessClient { client: Client::builder(TokioExecutor::new()).build(connector) }
    }

    /// Sends `request` to the witness whose submission prefix is
    /// `witness_url` (`http://host:port[/prefix]`); returns the signature
    /// lines of its 200 response, not yet verified.
    pub async fn add_checkpoint(
        &self,
        witness_url: &str,
        request: &AddCheckpointRequest,
        timeout: Duration,
    ) -> Result<Vec<NoteSignature>, WitnessClientError> {
        let uri = add_checkpoint_uri(witness_url)?;
        let witness = witness_url.trim_end_matches('/').to_owned();
        match tokio::time::timeout(timeout, self.post(&witness, uri, request)).await {
            Ok(result) => result,
            Err(_) => Err(WitnessClientError::Timeout { witness, timeout }),
        }
    }

    async fn post(
        &self,
        witness: &str,
        uri: Uri,
        request: &AddCheckpointRequest,
    ) -> Result<Vec<NoteSignature>, WitnessClientError> {
        let http = |message: String| WitnessClientError::Http { witness: witness.to_owned(), message };
        let bad = |reason: String| WitnessClientError::BadResponse { witness: witness.to_owned(), reason };
        let req = Request::post(uri)
            .header(USER_AGENT, concat!("tongxin-witness/", env!("CARGO_PKG_VERSION")))
            .header(CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Full::new(Bytes::from(request.to_text())))
            .map_err(|e| http(e.to_string()))?;
        let response = self.client.request(req).await.map_err(|e| http(error_chain(&e)))?;
        let status = response.status();
        let body = match Limited::new(response.into_body(), MAX_REQUEST_SIZE).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => {
                return Err(http(format!("reading the {status} response: {}", error_chain(e.as_ref()))));
            }
        };
        match status {
            StatusCode::OK => parse_add_checkpoint_response(&body).map_err(|e| bad(e.to_string())),
            StatusCode::CONFLICT => {
                let size = parse_conflict_body(&body).map_err(|e| bad(format!("409 Conflict: {e}")))?;
                Err(WitnessClientError::Conflict { witness: witness.to_owned(), size })
            }
            other => {
                let text = String::from_utf8_lossy(&body);
                let mut message: String = text.trim().chars().take(300).collect();
                if message.is_empty() {
                    message = other.canonical_reason().unwrap_or("no reason").to_owned();
                }
                Err(WitnessClientError::Status {
                    witness: witness.to_owned(),
                    status: other.as_u16(),
                    message,
                })
            }
        }
    }
}

/// Sends one `add-checkpoint` request with a fresh client (see
/// [`WitnessClient`] to keep connections alive across calls).
pub async fn add_checkpoint(
    witness_url: &str,
    request: &AddCheckpointRequest,
    timeout: Duration,
) -> Result<Vec<NoteSignature>, WitnessClientError> {
    WitnessClient::new().add_checkpoint(witness_url, request, timeout).await
}

/// `<witness_url>/add-checkpoint`, for plain-HTTP URLs.
fn add_checkpoint_uri(witness_url: &str) -> Result<Uri, WitnessClientError> {
    let bad =
        |reason: &str| WitnessClientError::BadUrl { url: witness_url.to_owned(), reason: reason.into() };
    if witness_url.starts_with("https://") {
        return Err(bad("https is not supported by this client (no TLS stack); use a plain-http address \
                        or a TLS-terminating proxy"));
    }
    if !witness_url.starts_with("http://") {
        return Err(bad("it must start with http://"));
    }
    if witness_url.contains('?') || witness_url.contains('#') {
        return Err(bad("it must not have a query or fragment"));
    }
    let uri: Uri = format!("{}/{ADD_CHECKPOINT_PATH}", witness_url.trim_end_matches('/'))
        .parse()
        .map_err(|e| bad(&format!("{e}")))?;
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("it has no host"));
    }
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            add_checkpoint_uri("http://127.0.0.1:8080/").unwrap().to_string(),
            "http://127.0.0.1:8080/add-checkpoint"
        );
        assert_eq!(
            add_checkpoint_uri("http://w.example/prefix").unwrap().to_string(),
            "http://w.example/prefix/add-checkpoint"
        );
        for bad in ["https://w.example", "w.example", "http://w.example/?x", "http://"] {
            assert!(
                matches!(add_checkpoint_uri(bad), Err(WitnessClientError::BadUrl { .. })),
                "{bad} accepted"
            );
        }
    }
}
