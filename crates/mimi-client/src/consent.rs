//! Consent: asking a user to let this user add them to rooms, granting and revoking it.

use mimi_policy::id::RoomId;
use serde_json::{Value, json};

use crate::{ClientError, Profile};

impl Profile {
    /// Asks `user` for consent to add them to `room` (or any room); true if already given.
    pub fn consent_request(&self, user: &str, room: Option<&RoomId>) -> Result<bool, ClientError> {
        let target = self.user_id(user)?;
        let v = self.api.post(
            "/v1/consent/request",
            Some(&self.file.account_token),
            &json!({"user": target.as_str(), "room": room.map(RoomId::as_str)}),
        )?;
        Ok(v["granted"].as_bool().unwrap_or(false))
    }

    /// Lets `user` add this profile's user to `room` (or any room).
    pub fn consent_grant(&self, user: &str, room: Option<&RoomId>) -> Result<(), ClientError> {
        let requester = self.user_id(user)?;
        self.api.post(
            "/v1/consent/grant",
            Some(&self.file.account_token),
            &json!({"user": requester.as_str(), "room": room.map(RoomId::as_str)}),
        )?;
        Ok(())
    }

    /// Withdraws a grant to `user`, or refuses its request.
    pub fn consent_revoke(&self, user: &str, room: Option<&RoomId>) -> Result<(), ClientError> {
        let requester = self.user_id(user)?;
        self.api.post(
            "/v1/consent/revoke",
            Some(&self.file.account_token),
            &json!({"user": requester.as_str(), "room": room.map(RoomId::as_str)}),
        )?;
        Ok(())
    }

    /// The consents this profile's user was asked for and has given: `{user, room?, granted}`.
    pub fn consents(&self) -> Result<Value, ClientError> {
        let v = self
            .api
            .get("/v1/consent", Some(&self.file.account_token))?;
        Ok(v["consents"].clone())
    }
}
