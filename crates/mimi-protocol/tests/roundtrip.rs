//! Every protocol-06 message, built around real MLS structures (a room on a hub, a member
//! added by Welcome, a proposal, an application message), is read back equal and written
//! back byte for byte; a message cut short, with a byte too many, or with an unknown
//! enumeration value is refused.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use mimi_mls::hub::Hub;
use mimi_mls::key_package::validate_key_package;
use mimi_mls::member::Client;
use mimi_policy::document::SeedDocument;
use mimi_policy::id::{ClientId, ProviderId, RoomId};
use mimi_policy::preset::preset;
use mimi_protocol::codec::{
    AppDataDictionary, Credential, ExternalSender, GroupInfo, HpkeCiphertext, KeyPackage,
    MessageKind, MlsMessage, RatchetTree, RequiredCapabilities, Welcome,
};
use mimi_protocol::consent::*;
use mimi_protocol::group_info::*;
use mimi_protocol::key_material::*;
use mimi_protocol::submit::*;
use mimi_protocol::update::*;
use mimi_protocol::{Mls, Text, decode_exact, encode};
use openmls::prelude::OpenMlsProvider as _;
use tls_codec::{DeserializeBytes, Serialize, VLBytes};

/// Real MLS structures of one room.
struct Parts {
    commit: Vec<u8>,
    welcome: Vec<u8>,
    group_info: Vec<u8>,
    ratchet_tree: Vec<u8>,
    key_package: Vec<u8>,
    proposal: Vec<u8>,
    application: Vec<u8>,
    external_sender: Vec<u8>,
    credential: Vec<u8>,
}

fn parts() -> Parts {
    let hub = Hub::new(ProviderId::parse("example.com").unwrap()).unwrap();
    let alice = Client::new(ClientId::parse("mimi://example.com/d/alice/phone").unwrap()).unwrap();
    let bob = Client::new(ClientId::parse("mimi://b.example/d/bob/laptop").unwrap()).unwrap();
    let mut doc: SeedDocument = preset("administrated").unwrap();
    doc.id = Some(RoomId::parse("mimi://example.com/r/team").unwrap());
    doc.clients = BTreeMap::from([(alice.id().user().clone(), vec!["phone".to_owned()])]);
    doc.voice = Default::default();
    let room = doc.into_room().unwrap();
    let mut group = alice.create_room(&room, &hub.external_sender()).unwrap();
    let kp_message = bob.key_package().unwrap();
    let kp = validate_key_package(bob.provider().crypto(), &kp_message, bob.id().user()).unwrap();
    let out = group.add(&alice, vec![kp]).unwrap();
    group.confirm(&alice).unwrap();
    let ratchet_tree = group.ratchet_tree().unwrap();
    let mut bob_group = bob
        .join(out.welcome.as_ref().unwrap(), &ratchet_tree)
        .unwrap();
    let application = group.encrypt(&alice, b"hello").unwrap();
    let proposal = bob_group.self_remove(&bob).unwrap();
    let key_package = Mls::<KeyPackage>::from_message(&bob.key_package().unwrap())
        .unwrap()
        .into_bytes();
    let external_sender = hub.external_sender().tls_serialize_detached().unwrap();
    // ExternalSender: the signature key, then the credential.
    let (_, credential) = VLBytes::tls_deserialize_bytes(&external_sender).unwrap();
    let credential = credential.to_vec();
    Parts {
        commit: out.commit,
        welcome: out.welcome.unwrap(),
        group_info: out.group_info,
        ratchet_tree,
        key_package,
        proposal,
        application,
        external_sender,
        credential,
    }
}

/// `value` encodes, decodes equal, and encodes to the same bytes; every shorter prefix and
/// one extra byte are refused.
fn round_trips<T>(value: &T) -> Vec<u8>
where
    T: Serialize + DeserializeBytes + PartialEq + std::fmt::Debug,
{
    let bytes = encode(value).unwrap();
    assert_eq!(value.tls_serialized_len(), bytes.len());
    let back: T = decode_exact(&bytes).unwrap();
    assert_eq!(&back, value);
    assert_eq!(encode(&back).unwrap(), bytes);
    for cut in 0..bytes.len() {
        assert!(
            decode_exact::<T>(&bytes[..cut]).is_err(),
            "{} of {} bytes read as a whole message",
            cut,
            bytes.len()
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(decode_exact::<T>(&longer).is_err());
    bytes
}

fn text(s: &str) -> Text {
    Text::new(s).unwrap()
}

fn opaque(b: &[u8]) -> VLBytes {
    VLBytes::new(b.to_vec())
}

fn empty_dictionary() -> Mls<AppDataDictionary> {
    // `ComponentData component_data<V>`, none.
    Mls::new(vec![0]).unwrap()
}

#[test]
fn mls_structures_come_out_of_their_mls_message_and_go_back_in() {
    let p = parts();
    let welcome = Mls::<Welcome>::from_message(&p.welcome).unwrap();
    assert_eq!(welcome.to_message(), p.welcome);
    let group_info = Mls::<GroupInfo>::from_message(&p.group_info).unwrap();
    assert_eq!(group_info.to_message(), p.group_info);
    // A GroupInfo is not a Welcome.
    assert!(Mls::<Welcome>::from_message(&p.group_info).is_err());
    let commit = Mls::<MlsMessage>::new(p.commit.clone()).unwrap();
    assert_eq!(commit.kind(), MessageKind::Commit);
    let app = Mls::<MlsMessage>::new(p.application.clone()).unwrap();
    assert_eq!(app.kind(), MessageKind::Application);
    let proposal = Mls::<MlsMessage>::new(p.proposal.clone()).unwrap();
    assert_eq!(proposal.kind(), MessageKind::Proposal);
    // Garbage is not an MLS structure.
    assert!(Mls::<KeyPackage>::new(vec![1, 2, 3]).is_err());
}

#[test]
fn key_material_request_and_response_round_trip() {
    let p = parts();
    let request = KeyMaterialRequest {
        tbs: KeyMaterialRequestTbs {
            requesting_user: text("mimi://a.example/u/alice"),
            target_user: text("mimi://b.example/u/bob"),
            room_id: text("mimi://a.example/r/club"),
            acceptable_ciphersuites: vec![1, 3],
            // RequiredCapabilities with no extensions, proposals or credentials.
            required_capabilities: Mls::<RequiredCapabilities>::new(vec![0, 0, 0]).unwrap(),
            requester_signature_key: opaque(&[7; 32]),
            requester_credential: Mls::<Credential>::new(p.credential.clone()).unwrap(),
        },
        signature: opaque(&[9; 64]),
    };
    round_trips(&request);
    // The signed content is the TBS under its label, not the whole request.
    let signed = request.signed_content().unwrap();
    assert!(signed.ends_with(&encode(&request.tbs).unwrap()));
    let response = KeyMaterialResponse {
        user_status: KeyMaterialUserCode::PartialSuccess,
        user_uri: text("mimi://b.example/u/bob"),
        clients: vec![
            ClientKeyMaterial {
                client_uri: text("mimi://b.example/d/bob/laptop"),
                material: ClientMaterial::Success(Mls::new(p.key_package.clone()).unwrap()),
            },
            ClientKeyMaterial {
                client_uri: text("mimi://b.example/d/bob/phone"),
                material: ClientMaterial::KeyMaterialExhausted,
            },
            ClientKeyMaterial {
                client_uri: text("mimi://b.example/d/bob/tablet"),
                material: ClientMaterial::NothingCompatible(None),
            },
        ],
    };
    let bytes = round_trips(&response);
    // An unknown user code (8) is refused.
    let mut unknown = bytes.clone();
    unknown[1] = 8;
    assert!(decode_exact::<KeyMaterialResponse>(&unknown).is_err());
    // So is another protocol than mls10.
    let mut other = bytes;
    other[0] = 2;
    assert!(decode_exact::<KeyMaterialResponse>(&other).is_err());
}

#[test]
fn update_bundles_and_their_answers_round_trip() {
    let p = parts();
    let commit = HandshakeBundle::Commit {
        commit: Mls::new(p.commit.clone()).unwrap(),
        welcome: Some(Mls::from_message(&p.welcome).unwrap()),
        group_info: GroupInfoOption(Mls::from_message(&p.group_info).unwrap()),
        ratchet_tree: RatchetTreeOption::Full(Mls::<RatchetTree>::new(p.ratchet_tree).unwrap()),
    };
    round_trips(&commit);
    let proposals = HandshakeBundle::Proposal {
        proposal: Mls::new(p.proposal.clone()).unwrap(),
        more_proposals: vec![Mls::new(p.proposal.clone()).unwrap()],
    };
    round_trips(&proposals);
    // An application message is no handshake.
    let mut bad = p.application.clone();
    bad.push(0);
    assert!(decode_exact::<HandshakeBundle>(&bad).is_err());
    for outcome in [
        UpdateOutcome::Success {
            accepted_timestamp: 1_765_000_000_000,
        },
        UpdateOutcome::WrongEpoch { current_epoch: 7 },
        UpdateOutcome::NotAllowed,
        UpdateOutcome::InvalidProposal {
            invalid_proposals: vec![opaque(&[1; 32])],
        },
    ] {
        round_trips(&UpdateRoomResponse {
            error_description: text("because"),
            outcome,
        });
    }
    for option in [
        RatchetTreeOption::OutOfBand,
        RatchetTreeOption::DistributionService,
        RatchetTreeOption::HttpsUri(text("https://a.example/tree")),
    ] {
        round_trips(&option);
    }
}

#[test]
fn submitted_messages_their_answers_and_fanout_round_trip() {
    let p = parts();
    let request = SubmitMessageRequest {
        app_message: Mls::new(p.application.clone()).unwrap(),
        sending_uri: text("mimi://a.example/d/alice/phone"),
    };
    round_trips(&request);
    // A commit is not submitted as a message.
    let mut wrong = vec![1];
    wrong.extend_from_slice(&p.commit);
    wrong.extend_from_slice(&encode(&text("x")).unwrap());
    assert!(decode_exact::<SubmitMessageRequest>(&wrong).is_err());
    let frank = Frank {
        server_frank: [5; 32],
        franking_signature_ciphersuite: 1,
        franking_integrity_signature: opaque(&[6; 64]),
    };
    for response in [
        SubmitMessageResponse::Accepted {
            accepted_timestamp: 42,
            frank: Some(frank.clone()),
        },
        SubmitMessageResponse::Accepted {
            accepted_timestamp: 42,
            frank: None,
        },
        SubmitMessageResponse::NotAllowed,
        SubmitMessageResponse::EpochTooOld { current_epoch: 3 },
    ] {
        round_trips(&response);
    }
    let fanout = vec![
        FanoutMessage {
            timestamp: 1,
            body: FanoutBody::Commit {
                message: Mls::new(p.commit.clone()).unwrap(),
                external_proposals: vec![],
            },
        },
        FanoutMessage {
            timestamp: 2,
            body: FanoutBody::Welcome {
                message: Mls::new(p.welcome.clone()).unwrap(),
                ratchet_tree: RatchetTreeOption::Full(Mls::new(p.ratchet_tree.clone()).unwrap()),
            },
        },
        FanoutMessage {
            timestamp: 3,
            body: FanoutBody::Application {
                message: Mls::new(p.application.clone()).unwrap(),
                frank: Some(frank),
            },
        },
        FanoutMessage {
            timestamp: 4,
            body: FanoutBody::Proposal {
                message: Mls::new(p.proposal.clone()).unwrap(),
                more_proposals: vec![],
            },
        },
    ];
    for message in &fanout {
        round_trips(message);
    }
    let body = encode_fanout(&fanout).unwrap();
    assert_eq!(decode_fanout(&body).unwrap(), fanout);
    assert!(decode_fanout(&[]).is_err());
    assert!(decode_fanout(&body[..body.len() - 1]).is_err());
}

#[test]
fn group_info_requests_and_answers_round_trip() {
    let p = parts();
    let request = GroupInfoRequest {
        tbs: GroupInfoRequestTbs {
            cipher_suite: 1,
            requesting_signature_key: opaque(&[3; 32]),
            requesting_credential: Mls::new(p.credential.clone()).unwrap(),
            group_info_public_key: opaque(&[4; 32]),
            joining_code: opaque(b"code"),
        },
        signature: opaque(&[5; 64]),
    };
    round_trips(&request);
    assert!(
        request
            .signed_content()
            .unwrap()
            .ends_with(&encode(&request.tbs).unwrap())
    );
    // HPKECiphertext: kem_output<V>, ciphertext<V>.
    let ciphertext = Mls::<HpkeCiphertext>::new(vec![2, 1, 2, 3, 9, 9, 9]).unwrap();
    let success = GroupInfoSuccess {
        cipher_suite: 1,
        hub_sender: Mls::<ExternalSender>::new(p.external_sender).unwrap(),
        encrypted_groupinfo_and_tree: ciphertext,
        signature: opaque(&[8; 64]),
    };
    for outcome in [
        GroupInfoOutcome::Success(success),
        GroupInfoOutcome::NotAuthorized,
        GroupInfoOutcome::NoSuchRoom,
    ] {
        round_trips(&GroupInfoResponse {
            room_id: opaque(b"mimi://a.example/r/club"),
            outcome,
        });
    }
    round_trips(&GroupInfoRatchetTreeTbe {
        group_info: Mls::from_message(&p.group_info).unwrap(),
        ratchet_tree: RatchetTreeOption::Full(Mls::new(p.ratchet_tree).unwrap()),
        pending_proposals: vec![PendingProposal {
            proposal: Mls::new(p.proposal).unwrap(),
            hub_accepted_time: 9,
        }],
    });
}

#[test]
fn consent_identifier_and_abuse_messages_round_trip() {
    let p = parts();
    for operation in [
        Consent::Cancel,
        Consent::Request,
        Consent::Grant(vec![Mls::new(p.key_package.clone()).unwrap()]),
        Consent::Revoke,
    ] {
        round_trips(&ConsentEntry {
            requester_uri: text("mimi://a.example/u/alice"),
            target_uri: text("mimi://b.example/u/bob"),
            room_id: Some(text("mimi://a.example/r/club")),
            operation,
            consent_extensions: empty_dictionary(),
        });
    }
    round_trips(&IdentifierRequest {
        query_elements: vec![
            QueryElement {
                search: Search::Plain(SearchIdentifierType::Handle),
                search_value: text("im:bob@b.example"),
            },
            QueryElement {
                search: Search::VcardField(opaque(b"NICKNAME")),
                search_value: text("bobby"),
            },
            QueryElement {
                search: Search::OidcStdClaim(opaque(b"email")),
                search_value: text("bob@b.example"),
            },
        ],
        id_request_extensions: empty_dictionary(),
    });
    round_trips(&IdentifierResponse {
        response_code: IdentifierQueryCode::Success,
        uri: vec![text("mimi://b.example/u/bob")],
        found_profiles: vec![UserProfile {
            stable_uri: text("mimi://b.example/u/bob"),
            fields: vec![ProfileField {
                field_source: FieldSource::VcardField,
                field_name: text("FN"),
                field_value: opaque(b"Bob"),
            }],
        }],
        id_response_extensions: empty_dictionary(),
    });
    round_trips(&AbuseReport {
        reporting_user: text("mimi://a.example/u/alice"),
        alleged_abuser_uri: text("mimi://b.example/u/bob"),
        reason_code: ABUSE_TYPE_RESERVED,
        note: opaque(b"spam"),
        messages: vec![AbusiveMessage {
            message_content: opaque(b"\x87"),
            frank: Frank {
                server_frank: [1; 32],
                franking_signature_ciphersuite: 1,
                franking_integrity_signature: opaque(&[2; 8]),
            },
            accepted_timestamp: 5,
        }],
        abuse_extensions: empty_dictionary(),
    });
}

#[test]
fn text_with_control_characters_or_not_utf8_is_refused() {
    assert!(Text::new("a\u{1b}[31m").is_err());
    // opaque<V> of 0xff: not UTF-8.
    assert!(decode_exact::<Text>(&[1, 0xff]).is_err());
    assert!(decode_exact::<Text>(&[2, b'a', 0x07]).is_err());
    assert_eq!(decode_exact::<Text>(&[2, b'o', b'k']).unwrap(), text("ok"));
}
