//! Static tables the generators draw from: System Log event kinds with their legacy names,
//! messages and target shapes; client locations and user agents; names for people, groups
//! and apps.

/// What kind of object a log event's target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetShape {
    None,
    User,
    UserGroup,
    UserApp,
    App,
    Hook,
    Factor,
}

/// One System Log event type.
#[derive(Debug)]
pub struct Kind {
    pub event_type: &'static str,
    pub legacy: &'static str,
    pub display: &'static str,
    pub severity: &'static str,
    /// Whether the actor is the signed-in user (true) or an admin (false).
    pub self_service: bool,
    pub targets: TargetShape,
    /// Relative weight among generated (historic) events; 0 = only written by API calls.
    pub weight: u32,
}

macro_rules! kind {
    ($t:expr, $l:expr, $d:expr, $s:expr, $me:expr, $tg:ident, $w:expr) => {
        Kind {
            event_type: $t,
            legacy: $l,
            display: $d,
            severity: $s,
            self_service: $me,
            targets: TargetShape::$tg,
            weight: $w,
        }
    };
}

#[rustfmt::skip]
pub static KINDS: &[Kind] = &[
    kind!("user.session.start", "core.user_auth.login_success", "User login to Okta", "INFO", true, None, 300),
    kind!("user.session.end", "core.user_auth.logout_success", "User logout from Okta", "INFO", true, None, 80),
    kind!("user.authentication.sso", "app.auth.sso", "User single sign on to app", "INFO", true, App, 200),
    kind!("user.authentication.auth_via_mfa", "core.user.factor.attempt_success", "Authentication of user via MFA", "INFO", true, None, 90),
    kind!("policy.evaluate_sign_on", "", "Evaluation of sign-on policy", "INFO", true, None, 120),
    kind!("user.lifecycle.create", "core.user.config.user_creation.success", "Create Okta user", "INFO", false, User, 10),
    kind!("user.lifecycle.activate", "core.user.config.user_activated", "Activate Okta user", "INFO", false, User, 8),
    kind!("user.lifecycle.deactivate", "core.user.config.user_deactivated", "Deactivate Okta user", "INFO", false, User, 3),
    kind!("user.lifecycle.reactivate", "core.user.config.user_reactivated", "Reactivate Okta user", "INFO", false, User, 0),
    kind!("user.lifecycle.suspend", "core.user.config.user_status.suspended", "Suspend Okta user", "INFO", false, User, 2),
    kind!("user.lifecycle.unsuspend", "core.user.config.user_status.unsuspended", "Unsuspend Okta user", "INFO", false, User, 1),
    kind!("user.lifecycle.delete.initiated", "core.user.config.user_deleted", "Delete Okta user", "INFO", false, User, 0),
    kind!("user.account.lock", "core.user.config.user_status.account_locked", "Max sign in attempts exceeded", "WARN", true, None, 4),
    kind!("user.account.unlock", "core.user.config.user_status.account_unlock", "Unlock user account", "INFO", false, User, 2),
    kind!("user.account.update_profile", "core.user.config.profile_update.success", "Update user profile for Okta", "INFO", false, User, 40),
    kind!("user.account.reset_password", "core.user.config.password_reset", "Fired when the user's Okta password is reset", "INFO", false, User, 5),
    kind!("user.account.update_password", "core.user.config.password_update.success", "User update password for Okta", "INFO", false, User, 6),
    kind!("user.account.expire_password", "core.user.config.password_expire", "User password expired", "INFO", false, User, 0),
    kind!("user.session.clear", "core.user.session.clear", "Clear user session", "INFO", false, User, 1),
    kind!("group.user_membership.add", "core.user_group_member.user_add", "Add user to group membership", "INFO", false, UserGroup, 20),
    kind!("group.user_membership.remove", "core.user_group_member.user_remove", "Remove user from group membership", "INFO", false, UserGroup, 6),
    kind!("group.lifecycle.create", "core.user_group.created", "Create Okta group", "INFO", false, UserGroup, 0),
    kind!("group.lifecycle.delete", "core.user_group.deleted", "Delete Okta group", "INFO", false, UserGroup, 0),
    kind!("group.profile.update", "core.user_group.profile_updated", "Update group profile", "INFO", false, UserGroup, 0),
    kind!("application.user_membership.add", "app.generic.provision.assign_user_to_app", "Add user to application membership", "INFO", false, UserApp, 12),
    kind!("application.user_membership.remove", "app.generic.unauth_app_access_attempt", "Remove user from application membership", "INFO", false, UserApp, 3),
    kind!("application.user_membership.update", "app.user_management.update_user_profile", "Update user's application membership", "INFO", false, UserApp, 0),
    kind!("application.lifecycle.activate", "app.generic.config.app_activated", "Activate application", "INFO", false, App, 0),
    kind!("application.lifecycle.deactivate", "app.generic.config.app_deactivated", "Deactivate application", "INFO", false, App, 0),
    kind!("application.lifecycle.delete", "app.generic.config.app_deleted", "Delete application", "INFO", false, App, 0),
    kind!("group.application_assignment.add", "app.generic.config.app_group_assigned", "Assign group to application", "INFO", false, App, 0),
    kind!("group.application_assignment.remove", "app.generic.config.app_group_unassigned", "Remove group from application", "INFO", false, App, 0),
    kind!("group.application_assignment.update", "app.generic.config.app_group_updated", "Update group assignment to application", "INFO", false, App, 0),
    kind!("user.mfa.factor.activate", "core.user.factor.activate", "Activate factor for user", "INFO", true, Factor, 5),
    kind!("user.mfa.factor.deactivate", "core.user.factor.deactivate", "Reset factor for user", "INFO", false, Factor, 1),
    kind!("event_hook.created", "", "Event hook created", "INFO", false, Hook, 0),
    kind!("event_hook.activated", "", "Event hook activated", "INFO", false, Hook, 0),
    kind!("event_hook.deactivated", "", "Event hook deactivated", "INFO", false, Hook, 0),
    kind!("event_hook.deleted", "", "Event hook deleted", "INFO", false, Hook, 0),
    kind!("event_hook.verified", "", "Event hook verified", "INFO", false, Hook, 0),
    kind!("event_hook.updated", "", "Event hook updated", "INFO", false, Hook, 0),
    kind!("system.api_token.create", "api.token.create", "Create API token", "INFO", false, None, 1),
];

pub fn kind_index(event_type: &str) -> Option<u16> {
    KINDS
        .iter()
        .position(|k| k.event_type == event_type)
        .map(|i| i as u16)
}

/// Outcomes: (result, reason).
#[rustfmt::skip]
pub static OUTCOMES: &[(&str, Option<&str>)] = &[
    ("SUCCESS", None),
    ("FAILURE", Some("INVALID_CREDENTIALS")),
    ("FAILURE", Some("VERIFICATION_ERROR")),
    ("ALLOW", None),
    ("DENY", Some("Sign-on policy evaluation resulted in DENY")),
    ("CHALLENGE", Some("Sign-on policy evaluation resulted in CHALLENGE")),
    ("FAILURE", Some("LOCKED_OUT")),
];

/// A client location: (ip, city, state, country, postal code, lat, lon, ASN org, isp).
pub type Location = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    f64,
    f64,
    &'static str,
);

#[rustfmt::skip]
pub static LOCATIONS: &[Location] = &[
    ("203.0.113.10", "New York", "New York", "United States", "10013", 40.7157, -74.0, "verizon"),
    ("198.51.100.23", "San Francisco", "California", "United States", "94107", 37.7749, -122.4194, "comcast"),
    ("192.0.2.44", "Toronto", "Ontario", "Canada", "M4M", 43.6567, -79.34, "rogers"),
    ("203.0.113.77", "London", "England", "United Kingdom", "EC1A", 51.5072, -0.1276, "bt"),
    ("198.51.100.90", "Berlin", "Berlin", "Germany", "10115", 52.52, 13.405, "deutsche telekom"),
    ("192.0.2.130", "Sydney", "New South Wales", "Australia", "2000", -33.8688, 151.2093, "telstra"),
    ("203.0.113.200", "Austin", "Texas", "United States", "78701", 30.2672, -97.7431, "att"),
    ("198.51.100.5", "Dublin", "Leinster", "Ireland", "D02", 53.3498, -6.2603, "eir"),
];

/// (raw user agent, os, browser).
#[rustfmt::skip]
pub static AGENTS: &[(&str, &str, &str)] = &[
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 Safari/537.36", "Mac OS X", "CHROME"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0", "Windows 10", "FIREFOX"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "iOS", "MOBILE_SAFARI"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0", "Windows 10", "EDGE"),
    ("okta-sdk-python/2.9.2 python/3.11.4 Linux/6.1.0", "Linux", "UNKNOWN"),
];

#[rustfmt::skip]
pub static FIRST_NAMES: &[&str] = &[
    "Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory",
    "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Uma", "Victor", "Walter", "Xena",
    "Yusuf", "Zoe", "Amara", "Bjorn", "Chen", "Dmitri", "Elena", "Farah", "Goran", "Hana", "Ines",
    "Jamal", "Keiko", "Lars", "Mei", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq",
    "Ursula", "Vera", "Wen", "Ximena", "Yara", "Zeynep", "Aditya",
];

#[rustfmt::skip]
pub static LAST_NAMES: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott",
    "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera",
    "Campbell", "Mitchell", "Carter", "O'Brien",
];

#[rustfmt::skip]
pub static DEPARTMENTS: &[&str] = &[
    "Engineering", "Sales", "Marketing", "Finance", "Legal", "Support", "Operations", "HR", "IT",
];

#[rustfmt::skip]
pub static TITLES: &[&str] = &[
    "Engineer", "Senior Engineer", "Manager", "Director", "Analyst", "Account Executive",
    "Specialist", "Coordinator", "VP", "Intern",
];

pub static LOCALES: &[&str] = &["en_US", "en_GB", "fr_FR", "de_DE", "es_ES", "ja_JP"];

#[rustfmt::skip]
pub static RECOVERY_QUESTIONS: &[&str] = &[
    "What's my childhood elementary school?", "What is the name of your first pet?",
    "What is your favorite piece of art?",
];

#[rustfmt::skip]
pub static GROUP_NAMES: &[&str] = &[
    "Engineering", "Sales", "Marketing", "Finance", "Contractors", "Admins", "VPN Users",
    "Helpdesk", "Executives", "Interns", "Remote", "EMEA", "APAC", "Americas", "Security",
];

/// (name, label, signOnMode).
#[rustfmt::skip]
pub static APP_TEMPLATES: &[(&str, &str, &str)] = &[
    ("bookmark", "Company Wiki", "BOOKMARK"),
    ("template_basic_auth", "Legacy Portal", "BASIC_AUTH"),
    ("bookmark", "Benefits", "BOOKMARK"),
    ("template_basic_auth", "Build Server", "BASIC_AUTH"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_appears_once_in_the_catalog() {
        for (i, k) in KINDS.iter().enumerate() {
            assert_eq!(kind_index(k.event_type), Some(i as u16), "{}", k.event_type);
        }
        assert!(KINDS.iter().any(|k| k.weight > 0));
    }
}
