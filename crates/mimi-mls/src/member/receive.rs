//! A member receiving: application messages encrypted and decrypted, and what the hub fans
//! out processed (commits verified against the room policy before they are merged).

use super::*;

impl RoomGroup {
    /// Encrypts an application message, naming this client's leaf as its sender in the
    /// authenticated data ([`crate::sender`]).
    pub fn encrypt(&mut self, client: &Client, plaintext: &[u8]) -> Result<Vec<u8>, MlsError> {
        let aad = crate::sender::sender_aad(self.group.own_leaf_index().u32())?;
        self.group.set_aad(aad);
        let message = self
            .group
            .create_message(&client.provider, &client.signer, plaintext);
        // openmls clears the data once a message is made; not when making it failed.
        self.group.set_aad(Vec::new());
        message
            .map_err(MlsError::openmls)?
            .to_bytes()
            .map_err(MlsError::openmls)
    }

    /// Processes a message fanned out by the hub. Commits are verified against the same
    /// room policy rules as on the hub before they are merged: a commit the policy forbids
    /// is refused here too, and the group stays as it was.
    pub fn process(&mut self, client: &Client, message: &[u8]) -> Result<Incoming, MlsError> {
        let message = MlsMessageIn::tls_deserialize_exact(message).map_err(MlsError::Decode)?;
        let protocol = message
            .try_into_protocol_message()
            .map_err(|_| MlsError::Malformed("not a group message".into()))?;
        let processed = self
            .group
            .process_message(&client.provider, protocol)
            .map_err(MlsError::openmls)?;
        let sender = processed.sender().clone();
        let credential = processed.credential().clone();
        let aad = processed.aad().to_vec();
        let origin = origin_of(
            &sender,
            &|leaf| self.leaf_client(leaf),
            || client_of(&credential),
            &|index| external_system_user(self.group.public_group().group_context(), index),
        )?;
        let content = match processed.into_content() {
            ProcessedMessageContent::ApplicationMessage(m) => {
                let (Origin::Member(sender), openmls::prelude::Sender::Member(leaf)) =
                    (origin, &sender)
                else {
                    return Err(MlsError::Malformed(
                        "application message from a non-member".into(),
                    ));
                };
                // A copy re-posted by another client names the original sender, whom the
                // hub would not have taken it from; the data cannot be changed unread.
                if crate::sender::sender_of_aad(&aad)? != leaf.u32() {
                    return Err(MlsError::Credential(
                        "the message names another sender than the one that encrypted it".into(),
                    ));
                }
                return Ok(Incoming::Message {
                    sender,
                    plaintext: m.into_bytes(),
                });
            }
            other => other,
        };
        // The room's policy and members, read from the group only for a handshake: an
        // application message changes neither (reading them is linear in the room).
        let before = self.room()?;
        let current = app_data_entries(self.group.public_group().group_context());
        let context = self.group.public_group().group_context().clone();
        let staged = match content {
            ProcessedMessageContent::ProposalMessage(p) => {
                // Members do not share a clock with the sender: the hub, which timestamps
                // every leaf update, enforces the Update intervals.
                crate::commit::authorize_proposal(
                    &before,
                    origin,
                    p.proposal(),
                    &|leaf| self.leaf_client(leaf),
                    &|_| u64::MAX,
                )?;
                self.group
                    .store_pending_proposal(client.provider.storage(), *p)
                    .map_err(MlsError::openmls)?;
                return Ok(Incoming::Proposal);
            }
            ProcessedMessageContent::StagedCommitMessage(staged) => {
                (*staged, resolve_app_data(&current, [])?)
            }
            ProcessedMessageContent::UnresolvedAppDataCommit(unresolved) => {
                let app_data = resolve_app_data(&current, unresolved.app_data_update_proposals())?;
                let mut updater = self.group.app_data_dictionary_updater();
                fill_updater(&mut updater, &current, &app_data);
                let changes = updater.changes();
                let staged = self
                    .group
                    .stage_app_data_commit(&client.provider, *unresolved, changes)
                    .map_err(MlsError::openmls)?;
                (staged, app_data)
            }
            ProcessedMessageContent::OwnPendingCommit => {
                self.confirm(client)?;
                return Ok(Incoming::Commit {
                    epoch: self.epoch(),
                    reason: crate::reason::reason_of_aad(&aad),
                });
            }
            _ => return Err(MlsError::Malformed("unexpected message".into())),
        };
        let (staged, app_data) = staged;
        let (summary, delta) = summarize(
            &staged,
            origin,
            &aad,
            app_data,
            &|leaf| self.leaf_client(leaf),
            &|index| external_system_user(&context, index),
            // Members share no clock with the joiner's provider: signature and user only.
            &|joiner, aad| {
                crate::claims::asserted_claims(
                    aad,
                    joiner,
                    &context,
                    client.provider.crypto(),
                    None,
                )
            },
        )?;
        authorize_commit(&before, &summary, delta)?;
        self.group
            .merge_staged_commit(&client.provider, staged)
            .map_err(MlsError::openmls)?;
        Ok(Incoming::Commit {
            epoch: self.epoch(),
            reason: crate::reason::reason_of_aad(&aad),
        })
    }

    /// The underlying openmls group.
    pub fn mls(&self) -> &MlsGroup {
        &self.group
    }

    /// The underlying openmls group, for callers that build their own MLS messages.
    pub fn mls_mut(&mut self) -> &mut MlsGroup {
        &mut self.group
    }
}
