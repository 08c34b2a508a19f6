//! KeyPackage uploads. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mimi_mls::key_package::validate_key_package;
use mimi_policy::id::UserId;
use openmls_rust_crypto::OpenMlsRustCrypto;
use openmls_traits::OpenMlsProvider as _;

fuzz_target!(|data: &[u8]| {
    let provider = OpenMlsRustCrypto::default();
    let owner = UserId::new("example.com", "alice").unwrap();
    let _ = validate_key_package(provider.crypto(), data, &owner);
});
