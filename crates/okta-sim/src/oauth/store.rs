//! What the authorization server remembers between requests: access and refresh tokens,
//! authorization codes, the `jti`s already seen (client assertions and DPoP proofs), the
//! current DPoP nonce, and per-client statistics for `/__sim/oauth`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ring::rand::{SecureRandom as _, SystemRandom};
use serde::Serialize;

use super::error::OAuthError;
use super::jose::b64url;
use crate::util::{mix2, now_ms};

/// How long an authorization code lives (Okta: 300 s).
pub const CODE_LIFETIME_MS: i64 = 300_000;
/// Rejections kept per client.
const MAX_REJECTED: usize = 200;

/// An issued access token.
#[derive(Debug, Clone)]
pub struct Access {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub expires_ms: i64,
    /// The DPoP key thumbprint the token is bound to.
    pub jkt: Option<String>,
    /// The refresh-token family it came from, if any.
    pub grant: Option<u64>,
    pub revoked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshState {
    Live,
    /// Exchanged once already (rotation).
    Used,
    Revoked,
}

/// An issued refresh token; rotation gives each use a successor in the same `grant`.
#[derive(Debug, Clone)]
pub struct Refresh {
    pub client_id: String,
    /// The scopes of the original grant; a refresh may ask for a subset.
    pub scopes: Vec<String>,
    pub jkt: Option<String>,
    pub grant: u64,
    pub state: RefreshState,
}

/// An authorization code waiting for its exchange.
#[derive(Debug, Clone)]
pub struct Code {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub challenge: String,
    pub expires_ms: i64,
}

/// One refused request, for `/__sim/oauth`.
#[derive(Debug, Clone, Serialize)]
pub struct Rejection {
    pub endpoint: &'static str,
    pub grant_type: Option<String>,
    pub error: &'static str,
    pub error_description: String,
}

/// Per-client counts for `/__sim/oauth`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub tokens_issued: u64,
    pub refreshes: u64,
    pub revocations: u64,
    pub rejected: Vec<Rejection>,
}

/// What to mint.
pub struct Issue<'a> {
    pub client_id: &'a str,
    pub scopes: Vec<String>,
    pub jkt: Option<String>,
    pub lifetime: Duration,
    pub refresh: RefreshPlan,
}

pub enum RefreshPlan {
    None,
    /// A new grant (authorization code with `offline_access`).
    NewGrant,
    /// The successor in an existing grant, with the grant's scopes.
    Rotate {
        grant: u64,
        scopes: Vec<String>,
    },
}

/// What was minted.
pub struct Issued {
    pub access_token: String,
    pub refresh_token: Option<String>,
}

pub struct Store {
    pub access: HashMap<String, Access>,
    pub refresh: HashMap<String, Refresh>,
    pub codes: HashMap<String, Code>,
    /// (client id, jti) of accepted client assertions → their `exp`.
    assertion_jtis: HashMap<(String, String), i64>,
    /// jti of accepted DPoP proofs → when seen (s).
    dpop_jtis: HashMap<String, i64>,
    pub nonce: String,
    pub stats: BTreeMap<String, Stats>,
    grants: u64,
}

/// `bytes` random bytes in base64url (43 characters for 32 bytes).
pub fn random_token(bytes: usize) -> String {
    static FALLBACK: AtomicU64 = AtomicU64::new(0);
    let mut buf = vec![0u8; bytes];
    if SystemRandom::new().fill(&mut buf).is_err() {
        // A simulator's tokens need to be unique, not secret: derive them from the clock.
        let n = FALLBACK.fetch_add(1, Ordering::SeqCst);
        for (i, b) in buf.iter_mut().enumerate() {
            *b = mix2(now_ms() as u64 ^ n, i as u64) as u8;
        }
    }
    b64url(&buf)
}

impl Default for Store {
    fn default() -> Self {
        Store {
            access: HashMap::new(),
            refresh: HashMap::new(),
            codes: HashMap::new(),
            assertion_jtis: HashMap::new(),
            dpop_jtis: HashMap::new(),
            nonce: random_token(24),
            stats: BTreeMap::new(),
            grants: 0,
        }
    }
}

impl Store {
    pub fn stats(&mut self, client_id: &str) -> &mut Stats {
        self.stats.entry(client_id.to_string()).or_default()
    }

    /// Record a refused request under the client it named (`-` when it named none).
    pub fn reject(
        &mut self,
        client: Option<&str>,
        endpoint: &'static str,
        grant_type: Option<&str>,
        e: &OAuthError,
    ) {
        let rejected = &mut self.stats(client.unwrap_or("-")).rejected;
        if rejected.len() == MAX_REJECTED {
            rejected.remove(0);
        }
        rejected.push(Rejection {
            endpoint,
            grant_type: grant_type.map(str::to_string),
            error: e.error,
            error_description: e.description.clone(),
        });
    }

    /// Remember an assertion's jti; false if this client used it before.
    pub fn first_assertion_use(&mut self, client: &str, jti: &str, exp: i64, now_s: i64) -> bool {
        if self.assertion_jtis.len() > 10_000 {
            self.assertion_jtis.retain(|_, e| *e >= now_s);
        }
        self.assertion_jtis
            .insert((client.to_string(), jti.to_string()), exp)
            .is_none()
    }

    /// Remember a DPoP proof's jti; false if seen before.
    pub fn first_proof_use(&mut self, jti: &str, now_s: i64) -> bool {
        if self.dpop_jtis.len() > 10_000 {
            self.dpop_jtis.retain(|_, seen| *seen >= now_s - 900);
        }
        self.dpop_jtis.insert(jti.to_string(), now_s).is_none()
    }

    pub fn rotate_nonce(&mut self) -> String {
        self.nonce = random_token(24);
        self.nonce.clone()
    }

    /// Mint an access token (and a refresh token when planned) and count it.
    pub fn issue(&mut self, i: Issue, now_ms: i64) -> Issued {
        let (grant, refresh_scopes) = match i.refresh {
            RefreshPlan::None => (None, None),
            RefreshPlan::NewGrant => {
                self.grants += 1;
                (Some(self.grants), Some(i.scopes.clone()))
            }
            RefreshPlan::Rotate { grant, scopes } => (Some(grant), Some(scopes)),
        };
        let access_token = random_token(32);
        let lifetime_ms = i64::try_from(i.lifetime.as_millis()).unwrap_or(i64::MAX / 2);
        self.access.insert(
            access_token.clone(),
            Access {
                client_id: i.client_id.to_string(),
                scopes: i.scopes,
                expires_ms: now_ms.saturating_add(lifetime_ms),
                jkt: i.jkt.clone(),
                grant,
                revoked: false,
            },
        );
        let refresh_token = grant.zip(refresh_scopes).map(|(grant, scopes)| {
            let t = random_token(32);
            let r = Refresh {
                client_id: i.client_id.to_string(),
                scopes,
                jkt: i.jkt,
                grant,
                state: RefreshState::Live,
            };
            self.refresh.insert(t.clone(), r);
            t
        });
        self.stats(i.client_id).tokens_issued += 1;
        Issued {
            access_token,
            refresh_token,
        }
    }

    /// Revoke `token` if `client_id` owns it: an access token alone, or a refresh token with
    /// every token of its grant. Unknown tokens and other clients' tokens are left alone.
    pub fn revoke(&mut self, client_id: &str, token: &str) {
        let grant = match (self.access.get_mut(token), self.refresh.get(token)) {
            (Some(a), _) if a.client_id == client_id => {
                a.revoked = true;
                None
            }
            (_, Some(r)) if r.client_id == client_id => Some(r.grant),
            _ => return,
        };
        if let Some(g) = grant {
            for r in self.refresh.values_mut().filter(|r| r.grant == g) {
                r.state = RefreshState::Revoked;
            }
            for a in self.access.values_mut().filter(|a| a.grant == Some(g)) {
                a.revoked = true;
            }
        }
        self.stats(client_id).revocations += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(s: &mut Store, refresh: RefreshPlan) -> Issued {
        let i = Issue {
            client_id: "c",
            scopes: vec!["okta.users.read".into()],
            jkt: None,
            lifetime: Duration::from_secs(60),
            refresh,
        };
        s.issue(i, 0)
    }

    #[test]
    fn revoking_a_refresh_token_revokes_every_token_of_its_grant_only() {
        let mut s = Store::default();
        let first = issue(&mut s, RefreshPlan::NewGrant);
        let other = issue(&mut s, RefreshPlan::NewGrant);
        let rt = first.refresh_token.clone().unwrap();
        let rotate = RefreshPlan::Rotate {
            grant: s.refresh[&rt].grant,
            scopes: vec![],
        };
        let second = issue(&mut s, rotate);
        s.revoke("c", &rt);
        assert!(s.access[&first.access_token].revoked);
        assert!(s.access[&second.access_token].revoked);
        let rt2 = second.refresh_token.unwrap();
        assert_eq!(s.refresh[&rt2].state, RefreshState::Revoked);
        assert!(
            !s.access[&other.access_token].revoked,
            "another grant is untouched"
        );
        assert_eq!(s.stats["c"].revocations, 1);
    }

    #[test]
    fn a_client_cannot_revoke_another_clients_token() {
        let mut s = Store::default();
        let t = issue(&mut s, RefreshPlan::None);
        s.revoke("someone-else", &t.access_token);
        s.revoke("c", "unknown");
        assert!(!s.access[&t.access_token].revoked);
        assert_eq!(s.stats["c"].revocations, 0);
    }

    #[test]
    fn jtis_are_accepted_once() {
        let mut s = Store::default();
        assert!(s.first_assertion_use("c", "j", 10, 0));
        assert!(!s.first_assertion_use("c", "j", 10, 0));
        assert!(s.first_assertion_use("d", "j", 10, 0), "per client");
        assert!(s.first_proof_use("p", 0));
        assert!(!s.first_proof_use("p", 1));
    }

    #[test]
    fn tokens_are_long_random_base64url_strings() {
        let a = random_token(32);
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token(32));
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }
}
