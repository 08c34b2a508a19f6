//! MIMI content messages from peers. Must never panic, and whatever decodes writes back as
//! it was read (its JSON form too).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mimi_content::{DerivedValues, MimiContent, json};

fuzz_target!(|data: &[u8]| {
    if let Ok(content) = MimiContent::decode(data) {
        assert_eq!(content.encode().unwrap(), data);
        let back = json::from_json(&json::to_json(&content, None)).unwrap();
        assert_eq!(back.encode().unwrap(), data);
    }
    if let Ok(derived) = DerivedValues::decode(data) {
        assert_eq!(derived.encode().unwrap(), data);
    }
});
