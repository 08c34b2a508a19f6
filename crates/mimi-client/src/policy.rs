//! Changing a room's policy: its settings (`mimi room policy`), a whole new document, and its
//! pre-authorization lists (`mimi room preauth`). Each is one commit of the changed policy
//! components, decided by the engine here, at the hub and at every member (in a seed room,
//! by an owner or the owning provider's system user only).

use mimi_policy::document::{PreauthItem, SeedDocument, from_value, parse_room};
use mimi_policy::id::RoomId;
use mimi_policy::link::LinkTerms;
use mimi_policy::room::Room;
use serde_json::Value;

use crate::{ClientError, Profile};

/// The pre-authorization lists of a seed room, by the role they let users join as.
pub const PREAUTH_ROLES: [&str; 4] = ["owner", "admin", "member", "visitor"];

/// A change of a room's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyChange {
    /// Settings of the seed document's `policy` object, `KEY=VALUE` (a dotted key reaches
    /// into `mls`; a value that is not JSON is a string).
    Set(Vec<String>),
    /// A whole room document (JSON, as `mimi room show --json` prints it); its participants
    /// and clients must be the room's.
    Document(String),
    /// Lists a join link (its entry, [`mimi_policy::link`]).
    AddLink(String),
    /// Takes the join link a link or code names off the list: it is revoked.
    RevokeLink(String),
    /// Adds (`add`) or removes a claim on the pre-authorization list of `role`.
    Preauth {
        /// Add, else remove.
        add: bool,
        /// owner, admin, member or visitor.
        role: String,
        /// `kind:value`: user, domain, team, workgroup, group or system.
        claim: String,
    },
}

/// One join link of a room.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LinkInfo {
    /// The link to hand out.
    pub link: String,
    /// When it stops letting people in (unix seconds).
    pub expires: Option<u64>,
    /// How many different users it lets in.
    pub uses: Option<u32>,
    /// Whether it asks for its own password.
    pub password: bool,
}

/// One entry of a pre-authorization list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PreauthEntry {
    /// The role it lets users join as.
    pub role: String,
    /// The claim, `kind:value`.
    pub claim: String,
}

/// A claim as the command line writes it, `kind:value`, as a document's list item.
pub fn parse_claim(text: &str) -> Result<PreauthItem, ClientError> {
    let how = "write kind:value, with kind one of user, domain, team, workgroup, group, \
               system (for example domain:example.com or user:bob@example.com)";
    let bad = |why: String| ClientError::Input(format!("claim {text:?}: {why}{how}"));
    let (kind, value) = text.split_once(':').ok_or_else(|| bad(String::new()))?;
    if value.is_empty() {
        return Err(bad(String::new()));
    }
    let item = serde_json::json!({ kind: value });
    from_value(item).map_err(|e| bad(format!("{e}; ")))
}

/// A document's list item as the command line writes it.
fn claim_text(item: &PreauthItem) -> String {
    let value = serde_json::to_value(item).unwrap_or_default();
    match value.as_object().and_then(|o| o.iter().next()) {
        Some((kind, Value::String(v))) => format!("{kind}:{v}"),
        _ => value.to_string(),
    }
}

fn seed_doc(room: &Room) -> Result<SeedDocument, ClientError> {
    let seed = room.seed().ok_or_else(|| {
        ClientError::Input(
            "this room's policy is a role table, not the seed's settings; give a whole \
             document with --policy FILE"
                .into(),
        )
    })?;
    Ok(SeedDocument::from_room(room, seed))
}

fn lists<'a>(
    doc: &'a mut SeedDocument,
    role: &str,
) -> Result<&'a mut Vec<PreauthItem>, ClientError> {
    Ok(match role {
        "owner" => &mut doc.preauth_owner,
        "admin" => &mut doc.preauth_admin,
        "member" => &mut doc.preauth_member,
        "visitor" => &mut doc.preauth_visitor,
        other => {
            return Err(ClientError::Input(format!(
                "role {other:?}: one of {}",
                PREAUTH_ROLES.join(", ")
            )));
        }
    })
}

/// `room` with `change` applied, as the proposed new policy.
fn proposed(room: &Room, change: &PolicyChange) -> Result<Room, ClientError> {
    let input = |e: mimi_policy::document::DocumentError| ClientError::Input(e.to_string());
    let mut next = match change {
        PolicyChange::Document(json) => {
            let next = parse_room(json).map_err(input)?;
            if let Some(named) = &next.id
                && Some(named) != room.id.as_ref()
            {
                return Err(ClientError::Input(format!(
                    "the document is for {named}, not this room"
                )));
            }
            next
        }
        PolicyChange::Set(pairs) => {
            let mut value = serde_json::to_value(seed_doc(room)?)
                .map_err(|e| ClientError::Input(e.to_string()))?;
            for pair in pairs {
                let (key, text) = pair
                    .split_once('=')
                    .ok_or_else(|| ClientError::Input(format!("{pair:?}: write KEY=VALUE")))?;
                let new: Value =
                    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.into()));
                let policy = &mut value["policy"];
                // `open` and `membership` say the same thing: the one set wins.
                match key {
                    "membership" => drop(policy.as_object_mut().map(|o| o.remove("open"))),
                    "open" => drop(policy.as_object_mut().map(|o| o.remove("membership"))),
                    _ => {}
                }
                let mut at = policy;
                let path: Vec<&str> = key.split('.').collect();
                for (i, part) in path.iter().enumerate() {
                    let Some(object) = at.as_object_mut() else {
                        return Err(ClientError::Input(format!("{key}: not a setting")));
                    };
                    if i + 1 == path.len() {
                        object.insert((*part).to_owned(), new.clone());
                        break;
                    }
                    at = object
                        .get_mut(*part)
                        .ok_or_else(|| ClientError::Input(format!("{key}: not a setting")))?;
                }
            }
            let doc: SeedDocument = from_value(value).map_err(input)?;
            doc.into_room().map_err(input)?
        }
        PolicyChange::AddLink(entry) => {
            let mut doc = seed_doc(room)?;
            doc.policy.join_links.push(entry.clone());
            doc.into_room().map_err(input)?
        }
        PolicyChange::RevokeLink(link) => {
            let mut doc = seed_doc(room)?;
            let code = mimi_policy::link::code_of(link);
            let before = doc.policy.join_links.len();
            doc.policy
                .join_links
                .retain(|l| mimi_policy::link::code_of(l) != code);
            if doc.policy.join_links.len() == before {
                return Err(ClientError::Input(format!(
                    "the room has no join link {link:?} (`mimi room link list` shows them)"
                )));
            }
            doc.into_room().map_err(input)?
        }
        PolicyChange::Preauth { add, role, claim } => {
            let item = parse_claim(claim)?;
            let mut doc = seed_doc(room)?;
            let list = lists(&mut doc, role)?;
            let had = list.contains(&item);
            match (add, had) {
                (true, false) => list.push(item),
                (false, true) => list.retain(|i| *i != item),
                (true, true) => {
                    return Err(ClientError::Input(format!(
                        "{claim} is on the {role} list already"
                    )));
                }
                (false, false) => {
                    return Err(ClientError::Input(format!(
                        "{claim} is not on the {role} list"
                    )));
                }
            }
            doc.into_room().map_err(input)?
        }
    };
    next.id = room.id.clone();
    Ok(next)
}

impl Profile {
    /// Commits `change` to `room`'s policy. Returns the room's document after it and the
    /// epoch.
    pub fn change_policy(
        &mut self,
        room: &RoomId,
        change: &PolicyChange,
    ) -> Result<(Value, u64), ClientError> {
        self.locked(|p| {
            let (client, _) = p.device()?;
            let mut group = p.ready_group(room)?;
            let current = group.room()?;
            let next = proposed(&current, change)?;
            let out = group.update_policy(client, &next)?;
            let epoch = p.submit(room, &mut group, &out)?;
            let doc = mimi_policy::document::room_to_value(&group.room()?);
            Ok((doc, epoch))
        })
    }

    /// Creates a join link of `room` (an owner, an admin or the owning provider's system
    /// user): lists it with its terms, and returns the link to hand out and the epoch.
    /// `expires_in` seconds from now, `uses` different users, and its own `password`.
    pub fn create_link(
        &mut self,
        room: &RoomId,
        password: Option<&str>,
        expires_in: Option<u64>,
        uses: Option<u32>,
    ) -> Result<(String, u64), ClientError> {
        use openmls_traits::OpenMlsProvider as _;
        use openmls_traits::random::OpenMlsRand as _;
        if password == Some("") {
            return Err(ClientError::Input(
                "an empty password protects nothing; omit it".into(),
            ));
        }
        if uses == Some(0) {
            return Err(ClientError::Input(
                "a link of no uses lets nobody in".into(),
            ));
        }
        let (client, _) = self.device()?;
        let random = client
            .provider()
            .rand()
            .random_array()
            .map_err(|e| ClientError::Input(format!("no randomness for a link: {e:?}")))?;
        let code = mimi_policy::link::new_code(random);
        let now = crate::unix_now();
        let terms = LinkTerms {
            room: room.to_string(),
            password_hash: password.map(|p| mimi_policy::link::password_hash(&code, p)),
            code,
            expires: expires_in.map(|s| now.saturating_add(s)),
            max_uses: uses,
        };
        let (_, epoch) = self.change_policy(room, &PolicyChange::AddLink(terms.entry()))?;
        Ok((terms.shareable(), epoch))
    }

    /// The join links of `room`, as this device's group holds them.
    pub fn links(&self, room: &RoomId) -> Result<Vec<LinkInfo>, ClientError> {
        let group = self.group(room)?;
        let doc = seed_doc(&group.room()?)?;
        Ok(doc
            .policy
            .join_links
            .iter()
            .map(|entry| match LinkTerms::parse(entry) {
                Some(t) => LinkInfo {
                    link: t.shareable(),
                    expires: t.expires,
                    uses: t.max_uses,
                    password: t.password_hash.is_some(),
                },
                None => LinkInfo {
                    link: entry.clone(),
                    expires: None,
                    uses: None,
                    password: false,
                },
            })
            .collect())
    }

    /// The pre-authorization lists of `room`, as this device's group holds them.
    pub fn preauth(&self, room: &RoomId) -> Result<Vec<PreauthEntry>, ClientError> {
        let group = self.group(room)?;
        let mut doc = seed_doc(&group.room()?)?;
        let mut out = Vec::new();
        for role in PREAUTH_ROLES {
            for item in lists(&mut doc, role)?.iter() {
                out.push(PreauthEntry {
                    role: role.to_owned(),
                    claim: claim_text(item),
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_kind_colon_value_and_other_shapes_are_refused() {
        assert_eq!(
            parse_claim("domain:example.com").unwrap(),
            PreauthItem::Domain("example.com".into())
        );
        let user = parse_claim("user:bob@example.com").unwrap();
        assert_eq!(claim_text(&user), "user:mimi://example.com/u/bob");
        for bad in ["example.com", "domain:", "planet:mars", "user:not a user"] {
            assert!(
                matches!(parse_claim(bad), Err(ClientError::Input(_))),
                "{bad}"
            );
        }
    }
}
