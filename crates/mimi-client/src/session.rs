//! Sessions: logging out, logging back in to the same profile, changing the password.

use mimi_api::{Credentials, Device, PasswordChange, Session};
use mimi_policy::id::ClientId;

use crate::{ClientError, Profile, path_segment};

impl Profile {
    /// Ends this profile's sessions at the provider (the account's token and the device's)
    /// and forgets both tokens. The device's keys and rooms stay; `mimi account login`
    /// brings the profile back.
    pub fn logout(&mut self) -> Result<(), ClientError> {
        self.locked(|p| {
            // The device's first: it never expires, the account's does.
            let mut tokens = Vec::new();
            if let Some(device) = &p.file.device {
                tokens.push(device.token.clone());
            }
            tokens.push(p.file.account_token.clone());
            // Each is tried; one the provider no longer knows (expired, revoked) is done.
            for token in tokens.iter().filter(|t| !t.is_empty()) {
                match p
                    .api
                    .post::<()>("/v1/logout", Some(token), &serde_json::json!({}))
                {
                    Ok(()) => {}
                    Err(e) if e.status == 401 => {}
                    // Kept on disk, so that a later logout tries again.
                    Err(e) => return Err(e.into()),
                }
            }
            p.file.account_token.clear();
            if let Some(device) = &mut p.file.device {
                device.token.clear();
            }
            p.save_account()
        })
    }

    /// Whether this profile is logged out (`mimi account logout`).
    pub fn logged_out(&self) -> bool {
        self.file.account_token.is_empty()
    }

    /// Logs this profile back in (after a logout, an expired account token or a
    /// revocation): a new account token and, for its device, a new device token.
    pub fn relogin(&mut self, password: &str) -> Result<(), ClientError> {
        self.locked(|p| {
            let credentials = Credentials {
                user: p.file.user.clone(),
                password: password.to_owned(),
            };
            let session: Session = p.api.post("/v1/login", None, &credentials)?;
            p.file.account_token = session.token;
            if let Some(device) = &p.file.device {
                let client = ClientId::parse(&device.client)
                    .map_err(|e| ClientError::Profile(format!("profile.json: {e}")))?;
                let name = client.name().to_owned();
                let issued: Device = p.api.post(
                    &format!("/v1/devices/{}/token", path_segment(&name)),
                    Some(p.account_token()?),
                    &serde_json::json!({}),
                )?;
                if let Some(device) = &mut p.file.device {
                    device.token = issued.token;
                }
            }
            p.save_account()
        })
    }

    /// Changes the account's password; the account's other sessions end.
    pub fn change_password(&self, current: &str, new: &str) -> Result<(), ClientError> {
        Ok(self.api.post(
            "/v1/account/password",
            Some(self.account_token()?),
            &PasswordChange {
                password: current.to_owned(),
                new_password: new.to_owned(),
            },
        )?)
    }
}
