//! The HTTP side: one request helper that sets the headers Palette wants, retries on rate
//! limiting as the server asks, and turns every failure into a [`PaletteError`] a user can act
//! on; and one method per API operation `runbook` uses.
//!
//! Headers (spec `securityDefinitions` and the Go SDK's `client.go`): `ApiKey: <key>` on every
//! request (marked sensitive, so no HTTP debug output shows it) and `ProjectUid: <uid>` for
//! project scope (tenant scope sends none). TLS is the same as `runbook fetch`: rustls with
//! the system's CA store plus `ca_cert`, verification never off.
//!
//! To call one more operation: add a method that names its `operationId`, builds the path
//! from the spec, and reads the answer into a wire type of [`super::api`].

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::PaletteError;
use super::api::{self, Cluster, Event, Gateway, Project, Variant};
use super::config::Settings;

/// Page size for list operations (the spec's maximum for `limit`).
pub const PAGE_LIMIT: u32 = 50;
/// How many times one request is sent again after a 429.
pub const MAX_RETRIES: u32 = 4;
/// A 429 asking to wait longer than this is reported instead of waited out.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);
/// The wait after a 429 without `Retry-After`.
const DEFAULT_RETRY_WAIT: Duration = Duration::from_secs(1);
/// Pages read at most in one list (a server repeating its token cannot loop us forever).
const MAX_PAGES: usize = 1000;

/// A Palette API client bound to one endpoint, key and scope.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    settings: Settings,
    /// The project scope, resolved to its uid (`ProjectUid` header) and name.
    project: Option<Project>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("host", &self.settings.host.as_str())
            .field("project", &self.project)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client in tenant scope; [`Client::connect`] also resolves the project.
    pub fn new(settings: Settings) -> Result<Self, PaletteError> {
        let options = crate::fetch::Options {
            ca_cert: settings.ca_cert.clone(),
            ..crate::fetch::Options::default()
        };
        let tls = crate::fetch::client::tls_config(&options)
            .map_err(|e| PaletteError::Tls(e.to_string()))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("runbook/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PaletteError::Other(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            settings,
            project: None,
        })
    }

    /// A client in the settings' project scope (its name or uid looked up), or tenant scope.
    pub async fn connect(settings: Settings) -> Result<Self, PaletteError> {
        let wanted = settings.project.clone();
        let mut client = Self::new(settings)?;
        if let Some(wanted) = wanted {
            client.project = Some(match client.resolve_project(&wanted).await {
                Ok(project) => project,
                // A key scoped to one project may not list the tenant's: a uid is enough.
                Err(PaletteError::Forbidden { .. }) if looks_like_uid(&wanted) => Project {
                    uid: wanted.clone(),
                    name: wanted,
                },
                Err(e) => return Err(e),
            });
        }
        Ok(client)
    }

    /// The endpoint, for messages.
    pub fn host(&self) -> &str {
        self.settings.host.as_str().trim_end_matches('/')
    }

    /// The project scope, when there is one.
    pub fn project(&self) -> Option<&Project> {
        self.project.as_ref()
    }

    /// `GET /v1/dashboard/projects/metadata` (`v1ProjectsMetadata`): the projects the key sees,
    /// asked in tenant scope.
    pub async fn projects(&self) -> Result<Vec<Project>, PaletteError> {
        let list: api::ProjectsMetadata = self
            .json(
                Method::GET,
                "/v1/dashboard/projects/metadata",
                &[],
                None,
                false,
                "list projects",
            )
            .await?;
        Ok(list
            .items
            .into_iter()
            .map(|p| Project {
                uid: p.metadata.uid,
                name: p.metadata.name,
            })
            .collect())
    }

    /// The project named `wanted` (or with that uid).
    pub async fn resolve_project(&self, wanted: &str) -> Result<Project, PaletteError> {
        let projects = self.projects().await?;
        projects
            .iter()
            .find(|p| p.uid == wanted)
            .or_else(|| projects.iter().find(|p| p.name == wanted))
            .or_else(|| {
                projects
                    .iter()
                    .find(|p| p.name.eq_ignore_ascii_case(wanted))
            })
            .cloned()
            .ok_or_else(|| PaletteError::NoProject {
                wanted: wanted.to_owned(),
                available: names(projects.iter().map(|p| p.name.as_str())),
            })
    }

    /// `POST /v1/dashboard/spectroclusters/search` (`v1SpectroClustersSearchFilterSummary`),
    /// every page (`limit` 50, then `continue`): the clusters of the scope, by name, with
    /// state, health, cloud type, Kubernetes version and last change.
    pub async fn clusters(&self) -> Result<Vec<Cluster>, PaletteError> {
        let body = api::cluster_search_body();
        let mut clusters = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let limit = PAGE_LIMIT.to_string();
            let mut query = vec![("limit", limit.as_str())];
            if let Some(t) = &token {
                query.push(("continue", t.as_str()));
            }
            let page: api::ClustersSummary = self
                .json(
                    Method::POST,
                    "/v1/dashboard/spectroclusters/search",
                    &query,
                    Some(&body),
                    true,
                    "list clusters",
                )
                .await?;
            clusters.extend(page.items.into_iter().map(Cluster::from));
            let next = Some(page.listmeta.continue_).filter(|t| !t.is_empty());
            if next.is_none() || next == token {
                break;
            }
            token = next;
        }
        Ok(clusters)
    }

    /// The cluster called `name` (or with that uid) among [`Client::clusters`].
    pub async fn cluster(&self, name: &str) -> Result<Cluster, PaletteError> {
        let clusters = self.clusters().await?;
        clusters
            .iter()
            .find(|c| c.name == name || c.uid == name)
            .cloned()
            .ok_or_else(|| PaletteError::NoCluster {
                name: name.to_owned(),
                scope: self.scope(),
                available: names(clusters.iter().map(|c| c.name.as_str())),
            })
    }

    /// `GET /v1/overlords` (`v1OverlordsList`): the private cloud gateways and their status.
    pub async fn gateways(&self) -> Result<Vec<Gateway>, PaletteError> {
        let list: api::Overlords = self
            .json(
                Method::GET,
                "/v1/overlords",
                &[],
                None,
                true,
                "list private cloud gateways",
            )
            .await?;
        Ok(list.items.into_iter().map(Gateway::from).collect())
    }

    /// `GET /v1/events/components/spectrocluster/{uid}` (`v1EventsComponentsObjTypeUidList`):
    /// the first page of the cluster's events.
    pub async fn events(&self, cluster: &Cluster) -> Result<Vec<Event>, PaletteError> {
        let limit = PAGE_LIMIT.to_string();
        let path = format!(
            "/v1/events/components/spectrocluster/{}",
            segment(&cluster.uid)
        );
        let list: api::Events = self
            .json(
                Method::GET,
                &path,
                &[("limit", &limit)],
                None,
                true,
                "list the cluster's events",
            )
            .await?;
        Ok(list.items.into_iter().map(Event::from).collect())
    }

    /// The cluster's kubeconfig (see [`Variant`] for the operation of each kind), as text.
    /// A cluster that is not running yet, or whose kubeconfig Palette does not have yet, is
    /// [`PaletteError::NotReady`].
    pub async fn kubeconfig(
        &self,
        cluster: &Cluster,
        variant: Variant,
    ) -> Result<String, PaletteError> {
        let (asset, query) = variant.asset();
        let path = format!(
            "/v1/spectroclusters/{}/assets/{asset}",
            segment(&cluster.uid)
        );
        let query: Vec<(&str, &str)> = query.into_iter().collect();
        let not_ready = || PaletteError::NotReady {
            name: cluster.name.clone(),
            state: cluster.state.clone(),
        };
        let bytes = match self
            .send(
                Method::GET,
                &path,
                &query,
                None,
                true,
                "download the kubeconfig",
            )
            .await
        {
            Ok(bytes) => bytes,
            Err(PaletteError::Status { code: 404, .. }) if !cluster.is_running() => {
                return Err(not_ready());
            }
            Err(PaletteError::Status {
                code: 404, message, ..
            }) => {
                return Err(PaletteError::NoKubeconfig {
                    name: cluster.name.clone(),
                    variant: format!("{variant:?}").to_lowercase(),
                    message,
                });
            }
            Err(e) => return Err(e),
        };
        match api::decode_kubeconfig(&bytes) {
            Some(text) => Ok(text),
            None if bytes.iter().all(u8::is_ascii_whitespace) || !cluster.is_running() => {
                Err(not_ready())
            }
            None => Err(PaletteError::BadAnswer {
                what: "download the kubeconfig".to_owned(),
                detail: "the body is not a kubeconfig".to_owned(),
            }),
        }
    }

    fn scope(&self) -> String {
        self.project.as_ref().map_or_else(
            || "tenant scope".to_owned(),
            |p| format!("project {}", p.name),
        )
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        scoped: bool,
        what: &str,
    ) -> Result<T, PaletteError> {
        let bytes = self.send(method, path, query, body, scoped, what).await?;
        serde_json::from_slice(&bytes).map_err(|e| PaletteError::BadAnswer {
            what: what.to_owned(),
            detail: e.to_string(),
        })
    }

    /// Sends one request (again after a 429, waiting as `Retry-After` says), returning the body
    /// of a 2xx answer.
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        scoped: bool,
        what: &str,
    ) -> Result<Vec<u8>, PaletteError> {
        let mut url = self
            .settings
            .host
            .join(path)
            .map_err(|e| PaletteError::Other(format!("bad API path {path}: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut key = HeaderValue::from_str(self.settings.key.expose())
            .map_err(|_| PaletteError::Other("the API key is not a valid header value".into()))?;
        key.set_sensitive(true);
        let mut attempt = 0;
        loop {
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .header("ApiKey", key.clone())
                .header(ACCEPT, "application/json, application/octet-stream");
            if let (true, Some(p)) = (scoped, &self.project) {
                request = request.header("ProjectUid", p.uid.as_str());
            }
            if let Some(body) = body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.to_string());
            }
            let response = request.send().await.map_err(|e| self.transport(&e, &url))?;
            let status = response.status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = retry_after(response.headers().get(RETRY_AFTER));
                if attempt >= MAX_RETRIES || wait > MAX_RETRY_WAIT {
                    return Err(PaletteError::RateLimited {
                        host: self.host().to_owned(),
                        wait,
                    });
                }
                attempt += 1;
                tokio::time::sleep(wait).await;
                continue;
            }
            let bytes = response
                .bytes()
                .await
                .map_err(|e| self.transport(&e, &url))?;
            if status.is_success() {
                return Ok(bytes.to_vec());
            }
            return Err(self.refused(status, &bytes, scoped, what));
        }
    }

    fn refused(&self, status: StatusCode, body: &[u8], scoped: bool, what: &str) -> PaletteError {
        let detail: api::ApiErrorBody = serde_json::from_slice(body).unwrap_or_default();
        let message = if detail.message.is_empty() {
            status
                .canonical_reason()
                .unwrap_or("no reason given")
                .to_owned()
        } else {
            first_line(&detail.message)
        };
        match status {
            StatusCode::UNAUTHORIZED => PaletteError::Unauthorized {
                host: self.host().to_owned(),
            },
            StatusCode::FORBIDDEN => PaletteError::Forbidden {
                what: what.to_owned(),
                scope: if scoped {
                    self.scope()
                } else {
                    "tenant scope".to_owned()
                },
                message,
            },
            _ => PaletteError::Status {
                code: status.as_u16(),
                what: what.to_owned(),
                message,
            },
        }
    }

    fn transport(&self, err: &reqwest::Error, url: &Url) -> PaletteError {
        use crate::fetch::client::FetchError as F;
        let host = url.host_str().unwrap_or_default();
        match crate::fetch::client::classify(err, host, self.settings.timeout) {
            F::Timeout(after) => PaletteError::Timeout {
                host: self.host().to_owned(),
                after,
            },
            F::Unreachable { detail, .. } => PaletteError::Unreachable {
                host: self.host().to_owned(),
                detail,
            },
            e @ (F::Untrusted { .. } | F::WrongHost { .. } | F::Tls { .. } | F::CaCert { .. }) => {
                PaletteError::Tls(e.to_string())
            }
            other => PaletteError::Unreachable {
                host: self.host().to_owned(),
                detail: other.to_string(),
            },
        }
    }
}

/// `Retry-After` as seconds or an HTTP date; [`DEFAULT_RETRY_WAIT`] when absent or unreadable.
pub fn retry_after(value: Option<&HeaderValue>) -> Duration {
    let Some(text) = value.and_then(|v| v.to_str().ok()).map(str::trim) else {
        return DEFAULT_RETRY_WAIT;
    };
    if let Ok(seconds) = text.parse::<u64>() {
        return Duration::from_secs(seconds);
    }
    chrono::DateTime::parse_from_rfc2822(text)
        .ok()
        .and_then(|at| {
            (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
                .to_std()
                .ok()
        })
        .unwrap_or(DEFAULT_RETRY_WAIT)
}

/// Palette uids are 24 hex digits.
fn looks_like_uid(text: &str) -> bool {
    text.len() == 24 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A uid as one path segment (uids are hex, but a name typed by a user may not be).
fn segment(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_owned()
}

/// `a, b, c` (at most 10 names), or `none`.
fn names<'a>(all: impl Iterator<Item = &'a str>) -> String {
    let all: Vec<&str> = all.collect();
    match all.len() {
        0 => "none".to_owned(),
        n if n > 10 => format!("{}, ... ({n} in all)", all[..10].join(", ")),
        _ => all.join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let v = |s: &str| HeaderValue::from_str(s).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(retry_after(Some(&v("3"))), Duration::from_secs(3));
        assert_eq!(retry_after(None), DEFAULT_RETRY_WAIT);
        assert_eq!(retry_after(Some(&v("soon"))), DEFAULT_RETRY_WAIT);
        let later = (chrono::Utc::now() + chrono::TimeDelta::seconds(90)).to_rfc2822();
        let wait = retry_after(Some(&v(&later)));
        assert!(
            wait > Duration::from_secs(80) && wait <= Duration::from_secs(90),
            "{wait:?}"
        );
    }

    #[test]
    fn names_are_listed_briefly() {
        assert_eq!(names(std::iter::empty()), "none");
        assert_eq!(names(["a", "b"].into_iter()), "a, b");
        let many: Vec<String> = (0..12).map(|i| format!("c{i}")).collect();
        assert!(names(many.iter().map(String::as_str)).ends_with("(12 in all)"));
    }
}
