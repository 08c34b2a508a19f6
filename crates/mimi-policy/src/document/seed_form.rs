//! The seed's document: turned into a room (its flags, affiliations, voice and
//! pre-authorization compiled to the role table) and written back from one.

use super::*;

impl SeedDocument {
    fn membership(&self) -> Result<Membership, DocumentError> {
        let p = &self.policy;
        match (p.open, p.membership) {
            (None, None) => Ok(Membership::MembersOnly),
            (Some(true), None) => Ok(Membership::Open),
            (Some(false), None) => Ok(Membership::MembersOnly),
            (None, Some(m)) => Ok(m),
            (Some(open), Some(m)) if open == (m == Membership::Open) => Ok(m),
            (Some(open), Some(_)) => Err(DocumentError::inconsistent(
                "policy.open",
                format!("`open: {open}` contradicts `membership`"),
            )),
        }
    }

    /// The profile and flags this document describes.
    fn profile(&self) -> Result<SeedProfile, DocumentError> {
        let p = &self.policy;
        let mls = &p.mls;
        if mls.update_min_interval < -1 || mls.update_max_interval < -1 {
            return Err(DocumentError::inconsistent(
                "policy.mls",
                "update intervals are seconds, or -1 for infinity",
            ));
        }
        if mls.update_min_interval >= 0
            && mls.update_max_interval >= 0
            && mls.update_min_interval > mls.update_max_interval
        {
            return Err(DocumentError::inconsistent(
                "policy.mls.update-min-interval",
                "exceeds update-max-interval",
            ));
        }
        if p.password.as_deref() == Some("") {
            return Err(DocumentError::inconsistent(
                "policy.password",
                "an empty password protects nothing; omit it",
            ));
        }
        Ok(SeedProfile {
            membership: self.membership()?,
            moderated: p.moderated,
            logging: p.logging,
            welcome_directly: p.welcome_directly,
            history: p.history,
            bots: p.bots,
            direct_messaging: p.direct_messaging,
            password: p.password.clone(),
            owning_system: self.owning_system.clone(),
            system_auth: self.system_auth.clone(),
            mls: mls.clone(),
        })
    }

    fn preauth(&self, moderated: bool) -> PreAuthList {
        let visitor = if moderated {
            R::VISITOR
        } else {
            R::PARTICIPANT
        };
        let lists = [
            (&self.preauth_owner, R::OWNER),
            (&self.preauth_admin, R::ADMIN),
            (&self.preauth_member, R::MEMBER),
            (&self.preauth_visitor, visitor),
        ];
        let entries = lists
            .into_iter()
            .flat_map(|(items, role)| {
                items.iter().map(move |item| PreAuthEntry {
                    claims: vec![item.claim()],
                    role: match item {
                        PreauthItem::System(_) => R::SYSTEM_CLIENT,
                        _ => role,
                    },
                })
            })
            .collect();
        PreAuthList { entries }
    }

    /// Compiles the seed document to a room.
    pub fn into_room(self) -> Result<Room, DocumentError> {
        let profile = self.profile()?;
        let p = &self.policy;
        let flags = SeedFlags {
            open: profile.is_open(),
            moderated: p.moderated,
            knock_first: profile.membership == Membership::KnockFirst,
            fixed: p.fixed_membership,
            multi_device: p.multi_device,
            psk: p.mls.psk,
            reinit: p.mls.reinit,
            direct_messaging: p.direct_messaging,
        };
        let roles = seed::role_table(flags);
        let preauth = self.preauth(p.moderated);
        let mut components = PolicyComponents::default();
        let base = &mut components.base;
        base.fixed_membership.0 = p.fixed_membership;
        base.multi_device.0 = p.multi_device;
        base.pseudonyms_allowed.0 = p.semi_anonymous;
        base.persistent_room.0 = p.persistent;
        base.discoverable.0 = p.discoverable;
        base.max_users = p.max_users;
        if !p.join_links.is_empty() {
            components.join_links = Some(JoinLinksData(
                p.join_links
                    .iter()
                    .map(|l| JoinLink::from(l.as_str()))
                    .collect(),
            ));
        }

        let mut roles_of: BTreeMap<UserId, (RoleIndex, String)> = BTreeMap::new();
        let mut assign = |user: &UserId, role: RoleIndex, field: &str| {
            if let Some((_, prev)) = roles_of.get(user) {
                return Err(DocumentError::inconsistent(
                    field,
                    format!("{user} is also listed in {prev}"),
                ));
            }
            roles_of.insert(user.clone(), (role, field.to_owned()));
            Ok(())
        };
        let a = &self.user_affiliations;
        for (list, role, field) in [
            (&a.owner, R::OWNER, "user-affiliations.owner"),
            (&a.admin, R::ADMIN, "user-affiliations.admin"),
            (&a.member, R::MEMBER, "user-affiliations.member"),
            (&a.outcast, R::BANNED, "user-affiliations.outcast"),
            (&self.owning_system, R::POLICY_ENFORCER, "owning-system"),
            (&self.system_auth, R::POLICY_ENFORCER, "system-auth"),
        ] {
            for user in list {
                assign(user, role, field)?;
            }
        }
        let system_clients: BTreeSet<&UserId> = [
            &self.preauth_owner,
            &self.preauth_admin,
            &self.preauth_member,
            &self.preauth_visitor,
        ]
        .into_iter()
        .flatten()
        .filter_map(|i| match i {
            PreauthItem::System(s) => Some(s),
            _ => None,
        })
        .collect();
        let granted: BTreeSet<&UserId> = self.voice.granted.iter().collect();
        let revoked: BTreeSet<&UserId> = self.voice.revoked.iter().collect();
        if let Some(u) = granted.intersection(&revoked).next() {
            return Err(DocumentError::inconsistent(
                "voice",
                format!("{u} is both granted and revoked voice"),
            ));
        }
        for user in self.clients.keys() {
            if roles_of.contains_key(user) {
                continue;
            }
            let role = if system_clients.contains(user) {
                R::SYSTEM_CLIENT
            } else if revoked.contains(user) || (p.moderated && !granted.contains(user)) {
                R::VISITOR
            } else {
                R::PARTICIPANT
            };
            roles_of.insert(user.clone(), (role, "clients".into()));
        }
        for user in &self.voice.granted {
            match roles_of.get(user).map(|r| r.0) {
                None => {
                    return Err(DocumentError::inconsistent(
                        "voice.granted",
                        format!("{user} is not in the room"),
                    ));
                }
                Some(R::BANNED) => {
                    return Err(DocumentError::inconsistent(
                        "voice.granted",
                        format!("{user} is an outcast"),
                    ));
                }
                Some(_) => {}
            }
        }
        for user in &self.voice.revoked {
            match roles_of.get_mut(user) {
                Some((role @ R::MEMBER, _)) => *role = R::MUTED_MEMBER,
                Some((R::VISITOR, _)) => {}
                Some((role, _)) => {
                    let who = match *role {
                        R::OWNER | R::ADMIN => "the voice of an admin or owner cannot be revoked",
                        _ => "only members and visitors can have voice revoked",
                    };
                    return Err(DocumentError::inconsistent(
                        "voice.revoked",
                        format!("{user}: {who}"),
                    ));
                }
                None => {
                    return Err(DocumentError::inconsistent(
                        "voice.revoked",
                        format!("{user} is not in the room"),
                    ));
                }
            }
        }
        if !roles_of.values().any(|(r, _)| *r == R::OWNER) {
            return Err(DocumentError::inconsistent(
                "user-affiliations.owner",
                "a room needs at least one owner",
            ));
        }
        let participants = ParticipantList::new(
            roles_of
                .into_iter()
                .map(|(user, (role, _))| UserRolePair { user, role })
                .collect(),
        )
        .map_err(|e| DocumentError::inconsistent("user-affiliations", e.to_string()))?;
        let clients = client_sets(self.clients)?;
        Ok(Room::new(
            self.id,
            roles,
            participants,
            preauth,
            components,
            clients,
            Profile::Seed(profile),
        )?)
    }

    /// The seed document of a seed room, as `GET /room` serves it.
    pub fn from_room(room: &Room, seed: &SeedProfile) -> Self {
        let base = &room.components().base;
        let mut doc = SeedDocument {
            id: room.id.clone(),
            policy: SeedPolicyDoc {
                discoverable: base.discoverable.0,
                open: Some(seed.is_open()),
                membership: Some(seed.membership),
                moderated: seed.moderated,
                semi_anonymous: base.pseudonyms_allowed.0,
                fixed_membership: base.fixed_membership.0,
                multi_device: base.multi_device.0,
                logging: seed.logging,
                welcome_directly: seed.welcome_directly,
                persistent: base.persistent_room.0,
                history: seed.history,
                bots: seed.bots,
                direct_messaging: seed.direct_messaging,
                password: seed.password.clone(),
                join_links: room
                    .components()
                    .join_links
                    .iter()
                    .flat_map(|links| links.0.iter().map(|l| l.join_link.0.clone()))
                    .collect(),
                max_users: base.max_users,
                mls: seed.mls.clone(),
            },
            owning_system: seed.owning_system.clone(),
            system_auth: seed.system_auth.clone(),
            clients: client_lists(room),
            ..Default::default()
        };
        for entry in &room.preauth().entries {
            let Some(item) = entry.claims.first().and_then(preauth_item) else {
                continue;
            };
            let list = match (entry.role, &item) {
                (_, PreauthItem::System(_)) => &mut doc.preauth_member,
                (R::OWNER, _) => &mut doc.preauth_owner,
                (R::ADMIN, _) => &mut doc.preauth_admin,
                (R::MEMBER, _) => &mut doc.preauth_member,
                _ => &mut doc.preauth_visitor,
            };
            list.push(item);
        }
        let a = &mut doc.user_affiliations;
        for e in room.participants().entries() {
            let user = e.user.clone();
            match e.role {
                R::OWNER => a.owner.push(user),
                R::ADMIN => a.admin.push(user),
                R::MEMBER => a.member.push(user),
                R::MUTED_MEMBER => {
                    a.member.push(user.clone());
                    doc.voice.revoked.push(user);
                }
                R::BANNED => a.outcast.push(user),
                R::VISITOR if !seed.moderated => doc.voice.revoked.push(user),
                R::PARTICIPANT if seed.moderated => doc.voice.granted.push(user),
                _ => {}
            }
        }
        // Participant order is wire order; documents list users sorted, so equal rooms give
        // equal documents.
        for list in [
            &mut a.owner,
            &mut a.admin,
            &mut a.member,
            &mut a.outcast,
            &mut doc.voice.granted,
            &mut doc.voice.revoked,
        ] {
            list.sort();
        }
        doc
    }
}

fn preauth_item(c: &Claim) -> Option<PreauthItem> {
    Some(match c.id.as_str() {
        claim::DOMAIN => PreauthItem::Domain(c.value.clone()),
        claim::TEAM => PreauthItem::Team(c.value.clone()),
        claim::WORKGROUP => PreauthItem::Workgroup(c.value.clone()),
        claim::GROUP => PreauthItem::Group(c.value.clone()),
        claim::USER => PreauthItem::User(UserId::parse(&c.value).ok()?),
        claim::SYSTEM => PreauthItem::System(UserId::parse(&c.value).ok()?),
        _ => return None,
    })
}
