//! The HTTP API under `/api/v1`: the router, its OpenAPI document and the request log.
//!
//! Every handler authenticates through [`crate::auth::Principal`] and checks the project and
//! role before it reads anything. The request log names the method, the route template (never
//! the query or a header), the status and the time taken, so no token, join code or record id
//! can reach it.

pub mod anonlink;
pub mod operator;
pub mod projects;
pub mod runs;
pub mod uploads;

use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post};
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// The service's state, for load balancers and clients (no authentication).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceStatus {
    /// `ok`.
    pub status: String,
    /// The server's version.
    pub version: String,
}

/// Whether the service answers.
#[utoipa::path(get, path = "/api/v1/status", responses((status = 200, body = ServiceStatus)))]
pub async fn status() -> Json<ServiceStatus> {
    Json(ServiceStatus {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// Recomputes the audit chain (server admin).
#[utoipa::path(get, path = "/api/v1/audit/verify",
    responses((status = 200, body = crate::audit::Verification), (status = 401, body = Problem),
              (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn audit_verify(
    State(state): State<AppState>,
    who: Principal,
) -> ApiResult<Json<crate::audit::Verification>> {
    if who != Principal::ServerAdmin {
        return Err(ApiError::forbidden());
    }
    Ok(Json(crate::audit::verify(state.db()).await?))
}

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let c = api.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The OpenAPI document, generated from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(title = "pprl serve", description = "pprl's trusted third party as a service"),
    paths(status, audit_verify, projects::create, projects::redeem, projects::show,
          projects::delete, projects::revoke, uploads::create, uploads::show, uploads::head, uploads::append,
          runs::create, runs::show, runs::cancel, runs::result),
    components(schemas(Problem)),
    modifiers(&Bearer)
)]
pub struct ApiDoc;

/// The OpenAPI document as pretty JSON (what `server/openapi.json` holds).
pub fn openapi_json() -> String {
    let mut doc = ApiDoc::openapi();
    // The version is the crate's, not utoipa's default, so the document changes with it.
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    doc.to_pretty_json()
        .expect("the OpenAPI document serialises")
        + "\n"
}

async fn openapi() -> Response {
    Response::builder()
        .header("content-type", "application/json")
        .body(openapi_json().into())
        .expect("a static response")
}

/// Logs each request: method, route template, status, milliseconds.
async fn log(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "(unrouted)".into());
    let t = Instant::now();
    let res = next.run(req).await;
    tracing::info!(
        target: "pprl_server::http",
        "{method} {route} {} {}ms",
        res.status().as_u16(),
        t.elapsed().as_millis()
    );
    res
}

/// The router over `state`.
pub fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .route("/status", get(status))
        .route("/audit/verify", get(audit_verify))
        .route("/projects", post(projects::create))
        .route("/join", post(projects::redeem))
        .route(
            "/projects/{project_id}",
            get(projects::show).delete(projects::delete),
        )
        .route(
            "/projects/{project_id}/tokens/{token_id}",
            delete(projects::revoke),
        )
        .route("/projects/{project_id}/uploads", post(uploads::create))
        .route(
            "/projects/{project_id}/uploads/{upload_id}",
            get(uploads::show)
                .head(uploads::head)
                .patch(uploads::append),
        )
        .route("/projects/{project_id}/runs", post(runs::create))
        .route(
            "/projects/{project_id}/runs/{run_id}",
            get(runs::show).delete(runs::cancel),
        )
        .route(
            "/projects/{project_id}/runs/{run_id}/result",
            get(runs::result),
        );
    let mut app = Router::new().nest("/api/v1", v1);
    if state.limits().anonlink_compat {
        app = app.nest("/anonlink/api/v1", anonlink::router());
    }
    app.route("/openapi.json", get(openapi))
        .route("/operator", get(operator::page))
        // JSON bodies are small; upload bodies stream and are bounded by the declared length.
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(middleware::from_fn(log))
        .with_state(state)
}
