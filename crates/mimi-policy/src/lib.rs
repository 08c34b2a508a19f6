//! The MIMI room policy engine (pure: no I/O, no clock).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod authorize;
pub mod capability;
pub mod codec;
pub mod component;
pub mod decision;
pub mod document;
pub mod effect;
pub mod fixed_room;
pub mod id;
pub mod operation;
pub mod participant_list;
pub mod preauth;
pub mod preset;
pub mod role;
pub mod room;
pub mod rule;
pub mod seed;

pub use authorize::{authorize, plan};
pub use decision::{Decision, DenyCode};
pub use operation::{Action, Actor, Operation};
pub use room::Room;
