//! `GET` and `POST /v1/rooms/{provider}/{room}/group-info`: what a joiner needs, for those the
//! room lets join (by the `POST`, presenting a join link and the room's password).

use axum::Json;
use axum::extract::State;
use mimi_policy::id::{ClientId, RoomId};
use mimi_policy::link::LinkTerms;
use mimi_policy::operation::{Action, Link};
use mimi_policy::{Decision, DenyCode, Operation, authorize, rule};
use mimi_store::Links as _;

use super::{ApiJson, ApiPath, room_anywhere, to_b64, visible};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use mimi_api::{GroupInfo, JoinInfo};

/// The GroupInfo and ratchet tree, for members and for devices the room lets join.
#[utoipa::path(get, path = "/v1/rooms/{provider}/{room}/group-info", tag = "rooms", security(("bearer" = [])), params(("provider" = String, Path, description = "the hosting provider's domain"), ("room" = String, Path, description = "the room's name")), responses((status = 200, description = "for members and those the room lets join", body = GroupInfo), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn group_info(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((provider, name)): ApiPath<(String, String)>,
) -> Result<Json<GroupInfo>, ApiError> {
    let (id, hosted) = room_anywhere(&state, &provider, &name)?;
    let client = caller.device()?.clone();
    if !hosted {
        return crate::federation::rooms::relay_group_info(&state, &id, &client, None)
            .await
            .map(Json);
    }
    join_info(&state, &id, &client, None).await.map(Json)
}

/// The GroupInfo and ratchet tree for a joiner presenting a join link of the room (one of its
/// `join_links`) and, for a room with a password, the password.
#[utoipa::path(post, path = "/v1/rooms/{provider}/{room}/group-info", tag = "rooms", security(("bearer" = [])), params(("provider" = String, Path, description = "the hosting provider's domain"), ("room" = String, Path, description = "the room's name")), request_body = JoinInfo, responses((status = 200, description = "for members and those the room lets join", body = GroupInfo), (status = "4XX", description = "refused: a stable code and a message for people", body = mimi_api::ErrorBody)))]
pub async fn group_info_with_link(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((provider, name)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<JoinInfo>,
) -> Result<Json<GroupInfo>, ApiError> {
    let (id, hosted) = room_anywhere(&state, &provider, &name)?;
    let client = caller.device()?.clone();
    if !hosted {
        return crate::federation::rooms::relay_group_info(&state, &id, &client, Some(&body))
            .await
            .map(Json);
    }
    // A password without a link is for a password-protected room's other ways in.
    let given = body.link.is_some() || body.password.is_some();
    let link = given.then_some(Link {
        issued_by: None,
        code: body.link,
        password: body.password,
        expired: false,
        uses: 0,
        max_uses: None,
    });
    join_info(&state, &id, &client, link).await.map(Json)
}

/// The listed terms of the link `presented` names in `policy`'s join links, if it is listed
/// and is a mimi link.
fn listed_terms(policy: &mimi_policy::Room, presented: &str) -> Option<LinkTerms> {
    let code = mimi_policy::link::code_of(presented);
    policy
        .components()
        .join_links
        .as_ref()?
        .0
        .iter()
        .filter(|l| mimi_policy::link::code_of(&l.join_link.0) == code)
        .find_map(|l| LinkTerms::parse(&l.join_link.0))
}

/// What `client` needs to join room `id` (hosted here), if the room lets it have it.
pub(crate) async fn join_info(
    state: &AppState,
    id: &RoomId,
    client: &ClientId,
    link: Option<Link>,
) -> Result<GroupInfo, ApiError> {
    let mut room = match state.room(id).await {
        Ok(room) => room,
        Err(ApiError::NoRoom(gone)) => {
            // A vacant persistent room: its policy, for the first one back to start its
            // group again (docs/decisions/0012).
            let Some((vacant, kept)) = super::vacate::vacant_room(state, id).await? else {
                return Err(ApiError::NoRoom(gone));
            };
            admit(state, id, &vacant, client, link).await?;
            return Ok(GroupInfo {
                group_info: String::new(),
                ratchet_tree: String::new(),
                epoch: 0,
                claims: signed_claims(state, client)?,
                vacant: Some(to_b64(&kept)),
            });
        }
        Err(e) => return Err(e),
    };
    if !room.hub.policy().clients().contains_key(client.user()) {
        admit(state, id, room.hub.policy(), client, link).await?;
    }
    let gi = room.hub.group_info(&state.hub)?.to_vec();
    Ok(GroupInfo {
        group_info: to_b64(&gi),
        ratchet_tree: to_b64(&room.hub.ratchet_tree()?),
        epoch: room.hub.epoch(),
        // Of a joiner of this provider; another provider's signs its own users' claims.
        claims: if client.user().domain() == state.domain.domain() {
            signed_claims(state, client)?
        } else {
            None
        },
        vacant: None,
    })
}

/// The joiner's claims, signed for its external commit (docs/decisions/0011); none when
/// the provider asserts none about it.
pub(crate) fn signed_claims(
    state: &AppState,
    client: &ClientId,
) -> Result<Option<String>, ApiError> {
    match state.claims.get(client.user()) {
        Some(c) if !c.is_empty() => Ok(Some(to_b64(&state.hub.assert_claims(client.user(), c)?))),
        _ => Ok(None),
    }
}

/// Decides whether `client`, not in the room, may have what it needs to join `policy`'s
/// room, presenting `link`; a use of a limited link is counted.
pub(super) async fn admit(
    state: &AppState,
    id: &RoomId,
    policy: &mimi_policy::Room,
    client: &ClientId,
    mut link: Option<Link>,
) -> Result<(), ApiError> {
    super::pseudonym_in_its_room(state, client.user(), Some(id)).await?;
    // The hub's clock decides a link's expiry (docs/decisions/0010).
    let terms = link
        .as_ref()
        .and_then(|l| l.code.as_deref())
        .and_then(|presented| listed_terms(policy, presented));
    if let (Some(l), Some(t)) = (link.as_mut(), &terms) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        l.expired = t.expires.is_some_and(|at| at <= now);
    }
    let op = Operation {
        actor: state.actor(client),
        action: Action::FetchGroupInfo { link },
    };
    let decision = authorize(policy, &op);
    if !decision.is_allowed() {
        visible(policy, id, client.user())?;
        return Err(decision.into());
    }
    // Let in by the link: one of its uses, unless this user had one already.
    if decision.rule().id == rule::SEED_JOIN_LINK.id
        && let Some(t) = terms.filter(|t| t.max_uses.is_some())
    {
        let recorded = state
            .store
            .record_link_use(id, &t.code, client.user(), t.max_uses)
            .await?;
        if !recorded {
            return Err(Decision::deny(DenyCode::LinkExhausted, rule::SEED_JOIN_LINK).into());
        }
    }
    Ok(())
}
