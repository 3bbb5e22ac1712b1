//! Picklists: users, groups, apps, hooks, realms, user types or a user's factors as
//! `{key, label}` pairs, for scripts and UIs that offer a choice.

use serde::Serialize;
use serde_json::Value;

use super::list::Listing;
use super::{AppQuery, GroupQuery, RealmQuery, UserQuery};
use crate::okta::{OktaClient, OktaError};

/// What to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickList {
    Users,
    Groups,
    Apps,
    Hooks,
    Realms,
    UserTypes,
    /// The factors of one user (id or login).
    Factors {
        user: String,
    },
}

/// One choice: the object's id and a name people recognise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PickItem {
    pub key: String,
    pub label: String,
}

fn text<'v>(value: &'v Value, pointer: &str) -> Option<&'v str> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The label of one object of the list: display name, with the login for users.
pub fn label(list: &PickList, item: &Value) -> String {
    let first_of = |pointers: &[&str]| {
        pointers
            .iter()
            .find_map(|p| text(item, p))
            .unwrap_or_default()
            .to_owned()
    };
    match list {
        PickList::Users => {
            let name = text(item, "/profile/displayName")
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    let parts: Vec<&str> = ["/profile/firstName", "/profile/lastName"]
                        .iter()
                        .filter_map(|p| text(item, p))
                        .collect();
                    parts.join(" ")
                });
            match text(item, "/profile/login") {
                Some(login) if name.is_empty() => login.to_owned(),
                Some(login) => format!("{name} ({login})"),
                None => name,
            }
        }
        PickList::Groups | PickList::Realms => first_of(&["/profile/name"]),
        PickList::Apps => first_of(&["/label", "/name"]),
        PickList::Hooks => first_of(&["/name"]),
        PickList::UserTypes => first_of(&["/displayName", "/name"]),
        PickList::Factors { .. } => {
            let kind = first_of(&["/factorType"]);
            let detail = [
                "/profile/phoneNumber",
                "/profile/email",
                "/profile/name",
                "/provider",
            ]
            .iter()
            .find_map(|p| text(item, p));
            match detail {
                Some(d) => format!("{kind}: {d}"),
                None => kind,
            }
        }
    }
}

impl OktaClient {
    fn pick_listing(&self, list: &PickList, q: Option<&str>) -> Result<Listing, OktaError> {
        let q = q.map(str::to_owned);
        match list {
            PickList::Users => self.users().list(&UserQuery {
                q,
                ..UserQuery::default()
            }),
            PickList::Groups => self.groups().list(&GroupQuery {
                q,
                ..GroupQuery::default()
            }),
            PickList::Apps => self.apps().list(&AppQuery {
                q,
                ..AppQuery::default()
            }),
            PickList::Hooks => self.event_hooks().list(),
            PickList::Realms => self.list_realms(&RealmQuery::default()),
            PickList::UserTypes => self.list_user_types(),
            PickList::Factors { user } => self.users().factors(user),
        }
    }

    /// The picklist, every page followed (at most `max` entries). `q` narrows users, groups and
    /// apps by name prefix; other lists ignore it.
    pub async fn pick(
        &self,
        list: &PickList,
        q: Option<&str>,
        max: Option<usize>,
    ) -> Result<Vec<PickItem>, OktaError> {
        let page = self.pick_listing(list, q)?.collect(max).await?;
        Ok(page
            .items
            .iter()
            .map(|item| PickItem {
                key: item["id"].as_str().unwrap_or_default().to_owned(),
                label: label(list, item),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_use_the_display_name_people_know() {
        let user = json!({"id": "00u1", "profile": {"firstName": "Ann", "lastName": "Lee", "login": "ann@x.io"}});
        assert_eq!(label(&PickList::Users, &user), "Ann Lee (ann@x.io)");
        let group = json!({"id": "00g1", "profile": {"name": "Sales"}});
        assert_eq!(label(&PickList::Groups, &group), "Sales");
        let app = json!({"id": "0oa1", "name": "bookmark", "label": "Wiki"});
        assert_eq!(label(&PickList::Apps, &app), "Wiki");
        let ut = json!({"id": "oty1", "name": "contractor", "displayName": "Contractor"});
        assert_eq!(label(&PickList::UserTypes, &ut), "Contractor");
        let factor =
            json!({"id": "mbl1", "factorType": "sms", "profile": {"phoneNumber": "+1 555"}});
        assert_eq!(
            label(&PickList::Factors { user: "u".into() }, &factor),
            "sms: +1 555"
        );
    }
}
