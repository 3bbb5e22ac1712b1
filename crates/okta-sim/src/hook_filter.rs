//! Event hook filters (`events.filter`, type `EXPRESSION_LANGUAGE`): each `eventFilterMap` entry
//! names an event type and an Okta Expression Language condition; an event of that type is
//! delivered only when its condition holds, and events of types the map does not name always are.
//!
//! The subset understood (anything else is refused when the hook is created or replaced):
//! - `event.a.b` paths into the LogEvent (`event.target`, `event.actor.alternateId`, …);
//!   a missing field is null;
//! - string, number, `true`, `false` and `null` literals;
//! - comparisons `eq ne gt ge lt le` and `== != > >= < <=`;
//! - `&&`/`and`, `||`/`or`, `!`/`not`, parentheses;
//! - on lists: Okta's selection `list.?[type eq 'User']` (bare names are the item's fields),
//!   `.size()`, and `.exists(t, t.type == 'User')`; on strings `.size()`, `.contains(s)`,
//!   `.startsWith(s)` and `.endsWith(s)`.

use serde_json::Value;

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Lit(Value),
    Name(String),
    Field(Box<Expr>, String),
    Call(Box<Expr>, String, Vec<Expr>),
    Exists(Box<Expr>, String, Box<Expr>),
    Select(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(Box<Expr>, Cmp, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Cmp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Sym(&'static str),
}

const SYMBOLS: [&str; 16] = [
    ".?[", "==", "!=", ">=", "<=", "&&", "||", ">", "<", "!", ".", ",", "(", ")", "[", "]",
];

fn lex(text: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let c = rest.chars().next().unwrap_or(' ');
        let taken = if c == '\'' || c == '"' {
            let end = rest[1..]
                .find(c)
                .ok_or_else(|| format!("unterminated string in {text:?}"))?;
            out.push(Tok::Str(rest[1..=end].to_owned()));
            end + 2
        } else if c.is_ascii_digit() {
            let len = rest
                .find(|ch: char| !(ch.is_ascii_digit() || ch == '.'))
                .unwrap_or(rest.len());
            let n = rest[..len]
                .parse()
                .map_err(|_| format!("bad number in {text:?}"))?;
            out.push(Tok::Num(n));
            len
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            let len = rest
                .find(|ch: char| !(ch.is_alphanumeric() || ch == '_' || ch == '$'))
                .unwrap_or(rest.len());
            out.push(Tok::Ident(rest[..len].to_owned()));
            len
        } else if let Some(sym) = SYMBOLS.iter().find(|s| rest.starts_with(**s)) {
            out.push(Tok::Sym(sym));
            sym.len()
        } else {
            return Err(format!("unexpected {c:?} in {text:?}"));
        };
        rest = rest[taken..].trim_start();
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn eat_sym(&mut self, sym: &str) -> bool {
        let hit = matches!(self.peek(), Some(Tok::Sym(s)) if *s == sym);
        self.at += usize::from(hit);
        hit
    }

    fn eat_word(&mut self, words: &[&str]) -> Option<String> {
        match self.peek() {
            Some(Tok::Ident(w)) if words.contains(&w.as_str()) => {
                let w = w.clone();
                self.at += 1;
                Some(w)
            }
            _ => None,
        }
    }

    fn expect(&mut self, sym: &str) -> Result<(), String> {
        if self.eat_sym(sym) {
            Ok(())
        } else {
            Err(format!("expected {sym:?} at token {}", self.at + 1))
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.eat_sym("||") || self.eat_word(&["or"]).is_some() {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.not()?;
        while self.eat_sym("&&") || self.eat_word(&["and"]).is_some() {
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.eat_sym("!") || self.eat_word(&["not"]).is_some() {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Expr, String> {
        let left = self.value()?;
        let words = ["eq", "ne", "gt", "ge", "lt", "le"];
        let op = match self.peek() {
            Some(Tok::Sym(s)) => ["==", "!=", ">", ">=", "<", "<="]
                .iter()
                .position(|o| o == s),
            Some(Tok::Ident(w)) => words.iter().position(|o| o == w),
            _ => None,
        };
        let Some(i) = op else {
            return Ok(left);
        };
        self.at += 1;
        let op = [Cmp::Eq, Cmp::Ne, Cmp::Gt, Cmp::Ge, Cmp::Lt, Cmp::Le][i];
        Ok(Expr::Cmp(Box::new(left), op, Box::new(self.value()?)))
    }

    fn value(&mut self) -> Result<Expr, String> {
        let mut v = self.primary()?;
        loop {
            if self.eat_sym(".?[") {
                let cond = self.or()?;
                self.expect("]")?;
                v = Expr::Select(Box::new(v), Box::new(cond));
            } else if self.eat_sym(".") {
                let Some(Tok::Ident(name)) = self.peek().cloned() else {
                    return Err("expected a name after '.'".into());
                };
                self.at += 1;
                v = if self.eat_sym("(") {
                    self.call(v, name)?
                } else {
                    Expr::Field(Box::new(v), name)
                };
            } else {
                return Ok(v);
            }
        }
    }

    fn call(&mut self, target: Expr, name: String) -> Result<Expr, String> {
        let mut args = Vec::new();
        while !self.eat_sym(")") {
            if !args.is_empty() {
                self.expect(",")?;
            }
            args.push(self.or()?);
        }
        match (name.as_str(), args.as_slice()) {
            ("exists", [Expr::Name(var), cond]) => Ok(Expr::Exists(
                Box::new(target),
                var.clone(),
                Box::new(cond.clone()),
            )),
            ("size", []) | ("contains" | "startsWith" | "endsWith", [_]) => {
                Ok(Expr::Call(Box::new(target), name, args))
            }
            _ => Err(format!(
                "unsupported function {name}() with {} arguments",
                args.len()
            )),
        }
    }

    fn primary(&mut self) -> Result<Expr, String> {
        let tok = self.peek().cloned().ok_or("unexpected end of expression")?;
        self.at += 1;
        Ok(match tok {
            Tok::Sym("(") => {
                let e = self.or()?;
                self.expect(")")?;
                e
            }
            Tok::Str(s) => Expr::Lit(Value::String(s)),
            Tok::Num(n) => Expr::Lit(serde_json::json!(n)),
            Tok::Ident(w) => match w.as_str() {
                "true" => Expr::Lit(Value::Bool(true)),
                "false" => Expr::Lit(Value::Bool(false)),
                "null" => Expr::Lit(Value::Null),
                _ => Expr::Name(w),
            },
            Tok::Sym(s) => return Err(format!("unexpected {s:?}")),
        })
    }
}

fn parse(text: &str) -> Result<Expr, String> {
    let mut p = Parser {
        toks: lex(text)?,
        at: 0,
    };
    let e = p.or()?;
    if p.at != p.toks.len() {
        return Err(format!("unexpected text after token {} in {text:?}", p.at));
    }
    Ok(e)
}

/// Names in scope: `event`, variables bound by `exists`, and the item of a selection.
struct Scope<'a> {
    event: &'a Value,
    vars: Vec<(&'a str, &'a Value)>,
    item: Option<&'a Value>,
}

fn eval(e: &Expr, s: &Scope<'_>) -> Value {
    match e {
        Expr::Lit(v) => v.clone(),
        Expr::Name(n) if n == "event" => s.event.clone(),
        Expr::Name(n) => match s.vars.iter().rev().find(|(name, _)| name == n) {
            Some((_, v)) => (*v).clone(),
            None => s
                .item
                .and_then(|i| i.get(n))
                .cloned()
                .unwrap_or(Value::Null),
        },
        Expr::Field(t, f) => eval(t, s).get(f).cloned().unwrap_or(Value::Null),
        Expr::Call(t, name, args) => call(&eval(t, s), name, args.first().map(|a| eval(a, s))),
        Expr::Exists(t, var, cond) => {
            let list = items(&eval(t, s));
            Value::Bool(list.iter().any(|item| {
                let mut vars = s.vars.clone();
                vars.push((var.as_str(), item));
                let inner = Scope {
                    event: s.event,
                    vars,
                    item: s.item,
                };
                truthy(&eval(cond, &inner))
            }))
        }
        Expr::Select(t, cond) => {
            let list = items(&eval(t, s));
            let kept = list.iter().filter(|item| {
                let inner = Scope {
                    event: s.event,
                    vars: s.vars.clone(),
                    item: Some(item),
                };
                truthy(&eval(cond, &inner))
            });
            Value::Array(kept.cloned().collect())
        }
        Expr::Not(x) => Value::Bool(!truthy(&eval(x, s))),
        Expr::And(a, b) => Value::Bool(truthy(&eval(a, s)) && truthy(&eval(b, s))),
        Expr::Or(a, b) => Value::Bool(truthy(&eval(a, s)) || truthy(&eval(b, s))),
        Expr::Cmp(a, op, b) => Value::Bool(compare(&eval(a, s), *op, &eval(b, s))),
    }
}

fn items(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

fn call(target: &Value, name: &str, arg: Option<Value>) -> Value {
    let arg_str = arg.as_ref().and_then(Value::as_str).unwrap_or_default();
    match (name, target) {
        ("size", Value::Array(a)) => serde_json::json!(a.len()),
        ("size", Value::String(t)) => serde_json::json!(t.chars().count()),
        ("size", _) => serde_json::json!(0),
        ("contains", Value::Array(a)) => Value::Bool(arg.is_some_and(|x| a.contains(&x))),
        ("contains", Value::String(t)) => Value::Bool(t.contains(arg_str)),
        ("startsWith", Value::String(t)) => Value::Bool(t.starts_with(arg_str)),
        ("endsWith", Value::String(t)) => Value::Bool(t.ends_with(arg_str)),
        _ => Value::Bool(false),
    }
}

fn truthy(v: &Value) -> bool {
    matches!(v, Value::Bool(true))
}

fn compare(a: &Value, op: Cmp, b: &Value) -> bool {
    use std::cmp::Ordering;
    let order = match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64().partial_cmp(&y.as_f64()),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    };
    match op {
        Cmp::Eq => order.map_or(a == b, |o| o == Ordering::Equal),
        Cmp::Ne => order.map_or(a != b, |o| o != Ordering::Equal),
        Cmp::Gt => order == Some(Ordering::Greater),
        Cmp::Ge => matches!(order, Some(Ordering::Greater | Ordering::Equal)),
        Cmp::Lt => order == Some(Ordering::Less),
        Cmp::Le => matches!(order, Some(Ordering::Less | Ordering::Equal)),
    }
}

/// The filter's `eventFilterMap` as (event type, expression) pairs, each expression parsed.
fn entries(filter: &Value) -> Result<Vec<(&str, Expr)>, String> {
    if filter.get("type").and_then(Value::as_str) != Some("EXPRESSION_LANGUAGE") {
        return Err("events.filter.type: Only EXPRESSION_LANGUAGE is supported".into());
    }
    let map = filter
        .get("eventFilterMap")
        .and_then(Value::as_array)
        .ok_or("events.filter.eventFilterMap: The field cannot be left blank")?;
    map.iter()
        .enumerate()
        .map(|(i, entry)| {
            let event = entry.get("event").and_then(Value::as_str);
            let expr = entry
                .pointer("/condition/expression")
                .and_then(Value::as_str);
            match (event, expr) {
                (Some(event), Some(expr)) => parse(expr).map(|e| (event, e)).map_err(|why| {
                    format!("events.filter.eventFilterMap[{i}].condition.expression: {why}")
                }),
                _ => Err(format!(
                    "events.filter.eventFilterMap[{i}]: event and condition.expression are required"
                )),
            }
        })
        .collect()
}

/// Refuses a filter this simulator cannot evaluate, saying why.
pub fn check(filter: &Value) -> Result<(), String> {
    entries(filter).map(drop)
}

/// True when `event` (a LogEvent) passes the hook's filter; no filter passes everything.
pub fn passes(filter: Option<&Value>, event: &Value) -> bool {
    let Some(filter) = filter else {
        return true;
    };
    let Ok(entries) = entries(filter) else {
        return false;
    };
    let event_type = event.get("eventType").and_then(Value::as_str).unwrap_or("");
    let scope = Scope {
        event,
        vars: Vec::new(),
        item: None,
    };
    entries
        .iter()
        .filter(|(t, _)| *t == event_type)
        .all(|(_, e)| truthy(&eval(e, &scope)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({"eventType": "group.user_membership.add", "outcome": {"result": "SUCCESS"},
            "actor": {"alternateId": "admin@example.com"},
            "target": [{"type": "User", "alternateId": "ann@example.com"},
                       {"type": "UserGroup", "displayName": "Sales"}]})
    }

    #[test]
    fn okta_style_conditions_evaluate_against_the_log_event() {
        let cases = [
            ("event.target.?[type eq 'UserGroup'].size()>0", true),
            (
                "event.target.?[type eq 'UserGroup'].size()>0 && event.target.?[displayName eq 'Sales'].size()>0",
                true,
            ),
            (
                "event.target.?[type eq 'UserGroup' && displayName eq 'Marketing'].size() > 0",
                false,
            ),
            (
                "event.target.exists(t, t.type == 'User' && t.alternateId.endsWith('@example.com'))",
                true,
            ),
            ("event.target.exists(t, t.type == 'AppInstance')", false),
            ("event.outcome.result eq \"SUCCESS\"", true),
            ("not (event.actor.alternateId.startsWith('admin'))", false),
            ("event.nothing.here == null", true),
            ("event.target.size() == 2 or false", true),
        ];
        for (expr, want) in cases {
            let e = parse(expr).unwrap_or_else(|err| panic!("{expr}: {err}"));
            let ev = event();
            let scope = Scope {
                event: &ev,
                vars: vec![],
                item: None,
            };
            assert_eq!(truthy(&eval(&e, &scope)), want, "{expr}");
        }
    }

    #[test]
    fn expressions_outside_the_subset_are_refused_at_check_time() {
        for bad in [
            "event.target.?[type eq 'User'",
            "user.profile.login ==",
            "event.x.matches('a')",
            "1 +",
            "'open",
        ] {
            let filter = json!({"type": "EXPRESSION_LANGUAGE", "eventFilterMap": [
                {"event": "user.lifecycle.create", "condition": {"expression": bad}}]});
            assert!(check(&filter).is_err(), "{bad}");
        }
        assert!(check(&json!({"type": "SCIM", "eventFilterMap": []})).is_err());
    }

    #[test]
    fn the_filter_applies_only_to_the_event_types_it_names() {
        let filter = json!({"type": "EXPRESSION_LANGUAGE", "eventFilterMap": [
            {"event": "group.user_membership.add",
             "condition": {"expression": "event.target.?[displayName eq 'Marketing'].size()>0"}}]});
        assert!(!passes(Some(&filter), &event()));
        let other = json!({"eventType": "user.lifecycle.create", "target": []});
        assert!(passes(Some(&filter), &other));
        assert!(passes(None, &event()));
    }
}
