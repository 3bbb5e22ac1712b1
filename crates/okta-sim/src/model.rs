//! The simulated org's records as compact structs (timestamps as epoch ms, enums as bytes),
//! rendered to Okta's JSON only when a request asks for them.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Okta's user statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Staged,
    Provisioned,
    Active,
    Recovery,
    LockedOut,
    PasswordExpired,
    Suspended,
    Deprovisioned,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Staged => "STAGED",
            Status::Provisioned => "PROVISIONED",
            Status::Active => "ACTIVE",
            Status::Recovery => "RECOVERY",
            Status::LockedOut => "LOCKED_OUT",
            Status::PasswordExpired => "PASSWORD_EXPIRED",
            Status::Suspended => "SUSPENDED",
            Status::Deprovisioned => "DEPROVISIONED",
        }
    }
}

/// A profile value: Okta profiles are mostly strings, sometimes null, occasionally other JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum PVal {
    Null,
    Str(Box<str>),
    Json(Box<serde_json::Value>),
}

impl PVal {
    pub fn from_json(v: &serde_json::Value) -> PVal {
        match v {
            serde_json::Value::Null => PVal::Null,
            serde_json::Value::String(s) => PVal::Str(s.as_str().into()),
            other => PVal::Json(Box::new(other.clone())),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self {
            PVal::Null => serde_json::Value::Null,
            PVal::Str(s) => serde_json::Value::String(s.to_string()),
            PVal::Json(v) => (**v).clone(),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            PVal::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Profile attributes in insertion order; standard keys are static strings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile(pub Vec<(Cow<'static, str>, PVal)>);

impl Profile {
    pub fn get(&self, key: &str) -> Option<&PVal> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(PVal::as_str)
    }

    pub fn set(&mut self, key: Cow<'static, str>, val: PVal) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = val,
            None => self.0.push((key, val)),
        }
    }
}

/// The kinds of MFA factor the simulator enrols, one bit each in [`User::factors`].
pub const FACTOR_KINDS: [&str; 5] = ["sms", "push", "token:software:totp", "email", "question"];

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub status: Status,
    pub created: i64,
    pub activated: Option<i64>,
    pub status_changed: Option<i64>,
    pub last_login: Option<i64>,
    pub last_updated: i64,
    pub password_changed: Option<i64>,
    pub type_idx: u16,
    pub realm_idx: Option<u16>,
    pub provider: &'static str,
    pub recovery_question: Option<Box<str>>,
    pub password: Option<Box<str>>,
    pub profile: Profile,
    /// Bit i set = factor `FACTOR_KINDS[i]` enrolled.
    pub factors: u8,
    /// Index of this user in the System Log entity table.
    pub ent: u32,
}

impl User {
    /// A STAGED user created at `now` with the default type and no credentials.
    pub fn new(id: String, now: i64, profile: Profile) -> User {
        User {
            id,
            status: Status::Staged,
            created: now,
            activated: None,
            status_changed: None,
            last_login: None,
            last_updated: now,
            password_changed: None,
            type_idx: 0,
            realm_idx: None,
            provider: "OKTA",
            recovery_question: None,
            password: None,
            profile,
            factors: 0,
            ent: 0,
        }
    }

    pub fn login(&self) -> &str {
        self.profile.get_str("login").unwrap_or("")
    }
}

#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub built_in: bool,
    pub created: i64,
    pub last_updated: i64,
    pub last_membership_updated: i64,
    pub name: String,
    pub description: Option<String>,
    pub members: BTreeSet<Box<str>>,
    pub ent: u32,
}

#[derive(Debug, Clone)]
pub struct AppUser {
    pub created: i64,
    pub last_updated: i64,
    pub status_changed: i64,
    pub scope_group: bool,
    pub user_name: Box<str>,
    pub profile: Profile,
}

#[derive(Debug, Clone)]
pub struct App {
    pub id: String,
    pub name: &'static str,
    pub label: String,
    pub active: bool,
    pub sign_on_mode: &'static str,
    pub created: i64,
    pub last_updated: i64,
    pub users: BTreeMap<Box<str>, AppUser>,
    pub ent: u32,
}

#[derive(Debug, Clone)]
pub struct UserType {
    pub id: String,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub default: bool,
    pub created: i64,
}

#[derive(Debug, Clone)]
pub struct Realm {
    pub id: String,
    pub name: String,
    pub default: bool,
    pub domains: Vec<String>,
    pub created: i64,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub id: String,
    pub kind: &'static str,
    pub name: String,
    pub active: bool,
    pub priority: u32,
    pub system: bool,
    pub created: i64,
}

#[derive(Debug, Clone)]
pub struct Hook {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub active: bool,
    pub verified: bool,
    pub created: i64,
    pub last_updated: i64,
    pub events: Vec<String>,
    pub filter: Option<serde_json::Value>,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub auth_key: Option<String>,
    pub auth_value: Option<String>,
    pub ent: u32,
}

/// Everything in the org except the System Log.
#[derive(Debug, Clone, Default)]
pub struct Org {
    pub users: BTreeMap<String, User>,
    /// Lower-cased login → id.
    pub logins: HashMap<String, String>,
    pub groups: BTreeMap<String, Group>,
    pub apps: BTreeMap<String, App>,
    pub user_types: Vec<UserType>,
    pub realms: Vec<Realm>,
    pub policies: Vec<Policy>,
    pub hooks: Vec<Hook>,
    /// The admin whose API token the simulator accepts; actor of API-driven events.
    pub admin_id: String,
    /// Bumped on every write (see `World::emit`).
    pub version: u64,
}

impl Org {
    /// Find a user by id or login (case-insensitive), as `GET /api/v1/users/{idOrLogin}` does.
    pub fn user_key(&self, id_or_login: &str) -> Option<String> {
        if self.users.contains_key(id_or_login) {
            return Some(id_or_login.to_string());
        }
        self.logins.get(&id_or_login.to_lowercase()).cloned()
    }

    pub fn type_id(&self, idx: u16) -> &str {
        self.user_types
            .get(idx as usize)
            .map(|t| t.id.as_str())
            .unwrap_or("")
    }
}
