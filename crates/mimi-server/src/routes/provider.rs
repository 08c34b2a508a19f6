//! `GET /v1/provider`: the provider as rooms name it.

use axum::Json;
use axum::extract::State;
use tls_codec::Serialize as _;

use super::to_b64;
use crate::error::ApiError;
use crate::state::AppState;
use mimi_api::Provider;

/// The provider's domain and the `ExternalSender` (TLS, base64) every room it hosts must list.
#[utoipa::path(get, path = "/v1/provider", tag = "rooms", responses((status = 200, description = "the provider as rooms name it", body = Provider)))]
pub async fn provider(State(state): State<AppState>) -> Result<Json<Provider>, ApiError> {
    let sender = state
        .hub
        .external_sender()
        .tls_serialize_detached()
        .map_err(|e| ApiError::Unavailable(format!("encoding the external sender: {e}")))?;
    Ok(Json(Provider {
        domain: state.domain.domain().to_owned(),
        external_sender: to_b64(&sender),
    }))
}
