//! The policy components' TLS encodings, one by one and as a whole room. Must never panic.
#![no_main]

use std::collections::{BTreeMap, BTreeSet};

use libfuzzer_sys::fuzz_target;
use mimi_policy::Room;
use mimi_policy::codec::decode_exact;
use mimi_policy::component::PolicyComponents;
use mimi_policy::participant_list::{ParticipantList, ParticipantListUpdate};
use mimi_policy::preauth::PreAuthList;
use mimi_policy::role::RoleTable;

fuzz_target!(|data: &[u8]| {
    let _ = decode_exact::<ParticipantList>(data);
    let _ = decode_exact::<ParticipantListUpdate>(data);
    let _ = decode_exact::<RoleTable>(data);
    let _ = decode_exact::<PreAuthList>(data);
    // Split the input into a few component entries and rebuild a room from them.
    let mut entries = BTreeMap::new();
    for (i, chunk) in data.chunks(64).enumerate() {
        let id = [0x0022u16, 0x0025, 0x0026, 0x0027, 0x0024, 0x002d, 0xf0a1][i % 7];
        entries.insert(id, chunk.to_vec());
    }
    let _ = PolicyComponents::from_app_data(&entries);
    let _ = Room::from_app_data(None, &entries, BTreeMap::<_, BTreeSet<String>>::new());
});
