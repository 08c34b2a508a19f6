//! Provider-to-provider messages (draft-ietf-mimi-protocol-06) from peers. Must never panic,
//! and whatever decodes writes back as it was read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mimi_protocol::consent::{AbuseReport, ConsentEntry, IdentifierRequest, IdentifierResponse};
use mimi_protocol::group_info::{GroupInfoRatchetTreeTbe, GroupInfoRequest, GroupInfoResponse};
use mimi_protocol::key_material::{KeyMaterialRequest, KeyMaterialResponse};
use mimi_protocol::submit::{SubmitMessageRequest, SubmitMessageResponse, decode_fanout, encode_fanout};
use mimi_protocol::update::{HandshakeBundle, UpdateRoomResponse};
use mimi_protocol::{decode_exact, encode};

/// `data` as a `T`, if it is one, written back byte for byte.
fn round_trip<T>(data: &[u8])
where
    T: tls_codec::DeserializeBytes + tls_codec::Serialize,
{
    if let Ok(value) = decode_exact::<T>(data) {
        assert_eq!(encode(&value).unwrap(), data);
    }
}

fuzz_target!(|data: &[u8]| {
    round_trip::<KeyMaterialRequest>(data);
    round_trip::<KeyMaterialResponse>(data);
    round_trip::<HandshakeBundle>(data);
    round_trip::<UpdateRoomResponse>(data);
    round_trip::<SubmitMessageRequest>(data);
    round_trip::<SubmitMessageResponse>(data);
    round_trip::<GroupInfoRequest>(data);
    round_trip::<GroupInfoResponse>(data);
    round_trip::<GroupInfoRatchetTreeTbe>(data);
    round_trip::<ConsentEntry>(data);
    round_trip::<IdentifierRequest>(data);
    round_trip::<IdentifierResponse>(data);
    round_trip::<AbuseReport>(data);
    if let Ok(messages) = decode_fanout(data) {
        assert_eq!(encode_fanout(&messages).unwrap(), data);
    }
});
