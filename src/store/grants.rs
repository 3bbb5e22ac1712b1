//! The authorization-code login in the state database: one row per org and client id, replaced
//! whenever Okta rotates the refresh token.

use std::path::PathBuf;

use chrono::Utc;
use rusqlite::{OptionalExtension, params};
use secrecy::{ExposeSecret, SecretString};

use super::{Context, Store, StoreError};
use crate::delta::utc_millis;
use crate::okta::auth::{Grant, GrantStore};

impl Store {
    pub fn grant(&self, org: &str, client_id: &str) -> Result<Option<Grant>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT refresh_token, scope, dpop_key FROM oauth_grants
                 WHERE org = ?1 AND client_id = ?2",
            )
            .and_then(|mut s| {
                s.query_row([org, client_id], |r| {
                    Ok(Grant {
                        refresh_token: SecretString::from(r.get::<_, String>(0)?),
                        scope: r.get(1)?,
                        dpop_key: r.get::<_, Option<Vec<u8>>>(2)?.map(Into::into),
                    })
                })
                .optional()
            })
            .ctx("read the OAuth login")
    }

    pub fn put_grant(&self, org: &str, client_id: &str, grant: &Grant) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO oauth_grants (org, client_id, refresh_token, scope, dpop_key, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(org, client_id) DO UPDATE SET refresh_token = excluded.refresh_token,
                   scope = excluded.scope, dpop_key = excluded.dpop_key,
                   updated_at = excluded.updated_at",
            )
            .and_then(|mut s| {
                s.execute(params![
                    org,
                    client_id,
                    grant.refresh_token.expose_secret(),
                    grant.scope,
                    grant.dpop_key.as_ref().map(|k| k.expose_secret().to_vec()),
                    utc_millis(Utc::now()),
                ])
            })
            .ctx("store the OAuth login")
            .map(drop)
    }

    pub fn delete_grant(&self, org: &str, client_id: &str) -> Result<bool, StoreError> {
        self.conn
            .execute(
                "DELETE FROM oauth_grants WHERE org = ?1 AND client_id = ?2",
                [org, client_id],
            )
            .ctx("forget the OAuth login")
            .map(|n| n > 0)
    }
}

/// The grant store of a state database file, opened for each (rare) read or write so that the
/// daemon and an admin command can both use the login.
#[derive(Debug, Clone)]
pub struct StateGrants {
    pub path: PathBuf,
}

impl GrantStore for StateGrants {
    fn load(&self, org: &str, client_id: &str) -> Result<Option<Grant>, String> {
        Store::open(&self.path)
            .and_then(|s| s.grant(org, client_id))
            .map_err(|e| e.to_string())
    }

    fn save(&self, org: &str, client_id: &str, grant: &Grant) -> Result<(), String> {
        Store::open(&self.path)
            .and_then(|s| s.put_grant(org, client_id, grant))
            .map_err(|e| e.to_string())
    }

    fn clear(&self, org: &str, client_id: &str) -> Result<bool, String> {
        Store::open(&self.path)
            .and_then(|s| s.delete_grant(org, client_id))
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_is_kept_per_org_and_client_replaced_on_rotation_and_forgotten_on_logout() {
        let dir = tempfile::tempdir().unwrap();
        let grants = StateGrants {
            path: dir.path().join("state.db"),
        };
        let org = "https://a.okta.com/";
        assert!(grants.load(org, "c1").unwrap().is_none());
        let grant = |token: &str, key: Option<Vec<u8>>| Grant {
            refresh_token: SecretString::from(token.to_owned()),
            scope: "okta.users.read offline_access".into(),
            dpop_key: key.map(Into::into),
        };
        grants
            .save(org, "c1", &grant("r1", Some(vec![1, 2, 3])))
            .unwrap();
        grants.save(org, "c2", &grant("other", None)).unwrap();
        grants.save(org, "c1", &grant("r2", Some(vec![4]))).unwrap();
        let back = grants.load(org, "c1").unwrap().expect("stored");
        assert_eq!(back.refresh_token.expose_secret(), "r2");
        assert_eq!(back.dpop_key.unwrap().expose_secret(), &[4]);
        assert!(grants.load("https://b.okta.com/", "c1").unwrap().is_none());
        assert!(grants.clear(org, "c1").unwrap());
        assert!(!grants.clear(org, "c1").unwrap());
        assert!(grants.load(org, "c1").unwrap().is_none());
        assert!(grants.load(org, "c2").unwrap().is_some());
        let mode = std::fs::metadata(&grants.path).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
    }
}
