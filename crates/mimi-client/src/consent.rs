//! Consent: asking a user to let this user add them to rooms, granting and revoking it.

use mimi_api::{ConsentBody, ConsentView, Consents};
use mimi_policy::id::RoomId;

use crate::{ClientError, Profile};

fn body(user: &mimi_policy::id::UserId, room: Option<&RoomId>) -> ConsentBody {
    ConsentBody {
        user: user.to_string(),
        room: room.map(RoomId::to_string),
    }
}

impl Profile {
    /// Asks `user` for consent to add them to `room` (or any room); true if already given.
    pub fn consent_request(&self, user: &str, room: Option<&RoomId>) -> Result<bool, ClientError> {
        let target = self.user_id(user)?;
        let view: ConsentView = self.api.post(
            "/v1/consent/request",
            Some(self.account_token()?),
            &body(&target, room),
        )?;
        Ok(view.granted)
    }

    /// Lets `user` add this profile's user to `room` (or any room).
    pub fn consent_grant(&self, user: &str, room: Option<&RoomId>) -> Result<(), ClientError> {
        let requester = self.user_id(user)?;
        Ok(self.api.post(
            "/v1/consent/grant",
            Some(self.account_token()?),
            &body(&requester, room),
        )?)
    }

    /// Withdraws a grant to `user`, or refuses its request.
    pub fn consent_revoke(&self, user: &str, room: Option<&RoomId>) -> Result<(), ClientError> {
        let requester = self.user_id(user)?;
        Ok(self.api.post(
            "/v1/consent/revoke",
            Some(self.account_token()?),
            &body(&requester, room),
        )?)
    }

    /// The consents this profile's user was asked for and has given.
    pub fn consents(&self) -> Result<Vec<ConsentView>, ClientError> {
        let consents: Consents = self.api.get("/v1/consent", Some(self.account_token()?))?;
        Ok(consents.consents)
    }
}
