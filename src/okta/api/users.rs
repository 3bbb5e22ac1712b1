//! Users: listing, reading, creating and partially updating users, and the typed inputs for a
//! user's profile and credentials (secrets held redacted until the body is built).

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

use super::list::{Listing, Query, SearchQuery};
use super::{Call, ids};
use crate::okta::{OktaClient, OktaError};

/// `GET /api/v1/users` parameters.
pub type UserQuery = SearchQuery;

/// User operations; get one with [`OktaClient::users`].
#[derive(Debug, Clone, Copy)]
pub struct Users<'a> {
    pub(super) client: &'a OktaClient,
}

/// Profile attributes to set; `None` fields are left out (and so kept on update).
#[derive(Debug, Clone, Default)]
pub struct ProfileInput {
    pub login: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub department: Option<String>,
    pub employee_number: Option<String>,
    pub mobile_phone: Option<String>,
    pub locale: Option<String>,
    /// Any other attributes, custom ones included; the named fields above win over these.
    pub extra: Map<String, Value>,
}

impl ProfileInput {
    /// The `profile` object, with only the attributes given.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut profile = self.extra.clone();
        let named = [
            ("login", &self.login),
            ("email", &self.email),
            ("firstName", &self.first_name),
            ("lastName", &self.last_name),
            ("department", &self.department),
            ("employeeNumber", &self.employee_number),
            ("mobilePhone", &self.mobile_phone),
            ("locale", &self.locale),
        ];
        for (key, value) in named {
            if let Some(v) = value {
                profile.insert(key.into(), Value::String(v.clone()));
            }
        }
        profile
    }
}

/// JSON that holds secrets (a password hash): shown as `[redacted]` by `Debug`.
#[derive(Clone)]
pub struct SecretJson(pub Value);

impl std::fmt::Debug for SecretJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretJson([redacted])")
    }
}

/// A password credential.
#[derive(Debug, Clone)]
pub enum Password {
    /// A cleartext password (checked by the password policy).
    Plain(SecretString),
    /// An imported hash: `{"algorithm":"BCRYPT","workFactor":10,"salt":"…","value":"…"}`.
    Hash(SecretJson),
}

impl Password {
    /// The `password` credential object.
    pub fn to_json(&self) -> Value {
        match self {
            Password::Plain(secret) => json!({"value": secret.expose_secret()}),
            Password::Hash(hash) => json!({"hash": hash.0}),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RecoveryQuestion {
    pub question: String,
    pub answer: SecretString,
}

/// `credentials.provider`: who authenticates the user (`OKTA`, `ACTIVE_DIRECTORY`, `LDAP`,
/// `FEDERATION`, `SOCIAL`, `IMPORT`).
#[derive(Debug, Clone)]
pub struct Provider {
    pub kind: String,
    pub name: Option<String>,
}

/// Credentials to set; parts left `None` are not sent.
#[derive(Debug, Clone, Default)]
pub struct CredentialsInput {
    pub password: Option<Password>,
    pub recovery_question: Option<RecoveryQuestion>,
    pub provider: Option<Provider>,
}

impl CredentialsInput {
    pub fn is_empty(&self) -> bool {
        self.password.is_none() && self.recovery_question.is_none() && self.provider.is_none()
    }

    /// The `credentials` object.
    pub fn to_json(&self) -> Value {
        let mut creds = Map::new();
        if let Some(p) = &self.password {
            creds.insert("password".into(), p.to_json());
        }
        if let Some(r) = &self.recovery_question {
            let answer = r.answer.expose_secret();
            creds.insert(
                "recovery_question".into(),
                json!({"question": r.question, "answer": answer}),
            );
        }
        if let Some(p) = &self.provider {
            let mut provider = json!({"type": p.kind});
            if let Some(name) = &p.name {
                provider["name"] = Value::String(name.clone());
            }
            creds.insert("provider".into(), provider);
        }
        Value::Object(creds)
    }
}

/// A user to create (`POST /api/v1/users`).
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub profile: ProfileInput,
    pub credentials: CredentialsInput,
    pub group_ids: Vec<String>,
    /// The user type id (`oty…`).
    pub type_id: Option<String>,
    pub realm_id: Option<String>,
    /// `activate` (Okta's default: true).
    pub activate: Option<bool>,
    /// `provider=true`: create the user with a non-Okta authentication provider.
    pub provider: bool,
    /// `nextLogin=changePassword` (needs activation).
    pub change_password_at_next_login: bool,
}

/// A partial update (`POST /api/v1/users/{id}`): what is not given is kept.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    pub profile: ProfileInput,
    pub credentials: CredentialsInput,
    pub realm_id: Option<String>,
}

impl<'a> Users<'a> {
    pub fn list_call(&self, query: &UserQuery) -> Result<Call, OktaError> {
        let q = query.query();
        self.client.call("listUsers", &["users"], q, None)
    }

    /// Lists users page by page.
    pub fn list(&self, query: &UserQuery) -> Result<Listing, OktaError> {
        Listing::new(self.client, self.list_call(query)?)
    }

    pub fn get_call(&self, id: &str, expand: Option<&str>) -> Result<Call, OktaError> {
        ids::user_ref("id", id)?;
        let q = Query::new().opt("expand", expand);
        self.client.call("getUser", &["users", id], q, None)
    }

    /// One user by id, login or shortname.
    pub async fn get(&self, id: &str, expand: Option<&str>) -> Result<Value, OktaError> {
        self.client.send_json(self.get_call(id, expand)?).await
    }

    pub fn create_call(&self, user: &NewUser) -> Result<Call, OktaError> {
        let profile = user.profile.to_json();
        if !profile.contains_key("login") {
            return Err(OktaError::invalid("login", "a new user needs a login"));
        }
        if user.change_password_at_next_login && user.activate == Some(false) {
            return Err(OktaError::invalid(
                "nextLogin",
                "changePassword at next login needs the user activated",
            ));
        }
        let mut body = json!({"profile": profile});
        if !user.credentials.is_empty() {
            body["credentials"] = user.credentials.to_json();
        }
        for id in &user.group_ids {
            ids::object_id("groupIds", id)?;
        }
        if !user.group_ids.is_empty() {
            body["groupIds"] = json!(user.group_ids);
        }
        if let Some(type_id) = &user.type_id {
            ids::object_id("type.id", type_id)?;
            body["type"] = json!({"id": type_id});
        }
        if let Some(realm) = &user.realm_id {
            ids::object_id("realmId", realm)?;
            body["realmId"] = json!(realm);
        }
        let q = Query::new()
            .opt("activate", user.activate)
            .flag_if("provider", user.provider)
            .opt(
                "nextLogin",
                user.change_password_at_next_login
                    .then_some("changePassword"),
            );
        self.client.call("createUser", &["users"], q, Some(body))
    }

    /// Creates a user.
    pub async fn create(&self, user: &NewUser) -> Result<Value, OktaError> {
        self.client.send_json(self.create_call(user)?).await
    }

    pub fn update_call(&self, id: &str, update: &UserUpdate) -> Result<Call, OktaError> {
        ids::user_ref("id", id)?;
        let profile = update.profile.to_json();
        let mut body = json!({});
        if !profile.is_empty() {
            body["profile"] = Value::Object(profile);
        }
        if !update.credentials.is_empty() {
            body["credentials"] = update.credentials.to_json();
        }
        if let Some(realm) = &update.realm_id {
            ids::object_id("realmId", realm)?;
            body["realmId"] = json!(realm);
        }
        if body.as_object().is_some_and(Map::is_empty) {
            return Err(OktaError::invalid(
                "profile",
                "nothing to update: give at least one profile attribute or credential",
            ));
        }
        self.client
            .call("updateUser", &["users", id], Query::new(), Some(body))
    }

    /// Updates the given profile attributes and credentials; everything else is kept.
    pub async fn update(&self, id: &str, update: &UserUpdate) -> Result<Value, OktaError> {
        self.client.send_json(self.update_call(id, update)?).await
    }
}
