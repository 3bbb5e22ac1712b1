//! Id checks, done before any request: Okta object ids are short alphanumeric strings, and a
//! user may also be named by login or shortname (anything that fits in one path segment).

use crate::okta::OktaError;

/// An Okta object id (`00g…`, `0oa…`, `who…`, `mfa…`): 1 to 64 letters, digits, `_` or `-`.
pub fn object_id(field: &str, value: &str) -> Result<(), OktaError> {
    check_object_id(value).map_err(|problem| OktaError::invalid(field, problem))
}

/// A user id, login or login shortname: one path segment without spaces or control characters.
pub fn user_ref(field: &str, value: &str) -> Result<(), OktaError> {
    check_user_ref(value).map_err(|problem| OktaError::invalid(field, problem))
}

/// The check behind [`object_id`], for command-line parsers.
pub fn check_object_id(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("the id is empty".into());
    }
    if value.len() > 64
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!(
            "{value:?} is not an Okta id (ids are letters and digits, e.g. 00g1emaKYZTWRYYRRTSK)"
        ));
    }
    Ok(())
}

/// The check behind [`user_ref`], for command-line parsers.
pub fn check_user_ref(value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err("the user id or login is empty".into());
    }
    let bad = |c: char| c.is_whitespace() || c.is_control() || matches!(c, '/' | '?' | '#' | '\\');
    if value.chars().any(bad) || value == "." || value == ".." || value.len() > 255 {
        return Err(format!(
            "{value:?} is not a user id, login or shortname (e.g. 00ub0oNGTSWTBKOLGLNR or \
             jane.doe@example.com; a login containing / only works by id)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn okta_ids_pass_and_anything_that_could_change_the_path_fails() {
        for good in [
            "00g1emaKYZTWRYYRRTSK",
            "0oafxqCAJWWGELFTYASJ",
            "who8vt36qfNpCGz9H1e6",
        ] {
            assert!(check_object_id(good).is_ok(), "{good}");
        }
        for bad in ["", "00g1/../users", "a b", "00g?x", &"x".repeat(65)] {
            assert!(check_object_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn users_may_be_named_by_login_but_not_by_anything_with_a_slash_or_space() {
        for good in [
            "00ub0oNGTSWTBKOLGLNR",
            "jane.doe@example.com",
            "jane.doe",
            "a+b@x.io",
        ] {
            assert!(check_user_ref(good).is_ok(), "{good}");
        }
        for bad in ["", " ", "a/b@x.io", "jane doe", "..", "x?y", "tab\there"] {
            assert!(check_user_ref(bad).is_err(), "{bad}");
        }
    }
}
