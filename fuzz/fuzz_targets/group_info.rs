//! A room's GroupInfo and ratchet tree as a hub loads them. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mimi_mls::hub::Hub;
use mimi_policy::id::ProviderId;

fuzz_target!(|data: &[u8]| {
    let hub = Hub::new(ProviderId::parse("example.com").unwrap()).unwrap();
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let (group_info, tree) = data.split_at(split);
    let _ = hub.load_room(group_info, tree);
    let _ = hub.load_room(data, data);
});
