//! The SCIM filter language Okta accepts in `search`, `filter` and the System Log `filter`:
//! parse once into a tree of conditions, let each resource compile the leaves into its own
//! typed predicates, then evaluate the tree against plain structs.

use std::cmp::Ordering;

/// A comparison operator; `Pr` ("present") takes no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Sw,
    Co,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
    Pr,
}

/// A literal on the right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

/// One leaf of a parsed expression: `attr op value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cond {
    pub attr: String,
    pub op: Op,
    pub value: Lit,
}

/// A boolean tree over leaves of type `P` (parsed [`Cond`]s, or compiled predicates).
#[derive(Debug, Clone, PartialEq)]
pub enum Tree<P> {
    Leaf(P),
    And(Box<Tree<P>>, Box<Tree<P>>),
    Or(Box<Tree<P>>, Box<Tree<P>>),
    Not(Box<Tree<P>>),
}

impl<P> Tree<P> {
    /// Replace every leaf with `f(leaf)`, failing on the first error.
    pub fn compile<Q, E>(&self, f: &impl Fn(&P) -> Result<Q, E>) -> Result<Tree<Q>, E> {
        Ok(match self {
            Tree::Leaf(p) => Tree::Leaf(f(p)?),
            Tree::And(a, b) => Tree::And(Box::new(a.compile(f)?), Box::new(b.compile(f)?)),
            Tree::Or(a, b) => Tree::Or(Box::new(a.compile(f)?), Box::new(b.compile(f)?)),
            Tree::Not(a) => Tree::Not(Box::new(a.compile(f)?)),
        })
    }

    pub fn eval(&self, f: &impl Fn(&P) -> bool) -> bool {
        match self {
            Tree::Leaf(p) => f(p),
            Tree::And(a, b) => a.eval(f) && b.eval(f),
            Tree::Or(a, b) => a.eval(f) || b.eval(f),
            Tree::Not(a) => !a.eval(f),
        }
    }

    pub fn has_not(&self) -> bool {
        match self {
            Tree::Leaf(_) => false,
            Tree::And(a, b) | Tree::Or(a, b) => a.has_not() || b.has_not(),
            Tree::Not(_) => true,
        }
    }
}

pub type Expr = Tree<Cond>;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Open,
    Close,
}

fn tokenize(input: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '(' || c == ')' {
            chars.next();
            toks.push(if c == '(' { Tok::Open } else { Tok::Close });
        } else if c == '"' {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    None => return Err("unterminated string literal".into()),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(e) => s.push(e),
                        None => return Err("unterminated string literal".into()),
                    },
                    Some(ch) => s.push(ch),
                }
            }
            toks.push(Tok::Str(s));
        } else {
            let mut w = String::new();
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() || ch == '(' || ch == ')' || ch == '"' {
                    break;
                }
                w.push(ch);
                chars.next();
            }
            toks.push(Tok::Word(w));
        }
    }
    Ok(toks)
}

fn op_of(word: &str) -> Option<Op> {
    Some(match word.to_ascii_lowercase().as_str() {
        "eq" => Op::Eq,
        "ne" => Op::Ne,
        "sw" => Op::Sw,
        "co" => Op::Co,
        "ew" => Op::Ew,
        "gt" => Op::Gt,
        "ge" => Op::Ge,
        "lt" => Op::Lt,
        "le" => Op::Le,
        "pr" => Op::Pr,
        _ => return None,
    })
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek_keyword(&self, kw: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn or_expr(&mut self) -> Result<Expr, String> {
        let mut left = self.and_expr()?;
        while self.peek_keyword("or") {
            self.pos += 1;
            left = Tree::Or(Box::new(left), Box::new(self.and_expr()?));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.peek_keyword("and") {
            self.pos += 1;
            left = Tree::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.peek_keyword("not") {
            self.pos += 1;
            return Ok(Tree::Not(Box::new(self.unary()?)));
        }
        match self.toks.get(self.pos).cloned() {
            Some(Tok::Open) => {
                self.pos += 1;
                let e = self.or_expr()?;
                if self.toks.get(self.pos) != Some(&Tok::Close) {
                    return Err("missing closing parenthesis".into());
                }
                self.pos += 1;
                Ok(e)
            }
            Some(Tok::Word(attr)) => self.comparison(attr),
            Some(t) => Err(format!("unexpected token {t:?}")),
            None => Err("unexpected end of expression".into()),
        }
    }

    fn comparison(&mut self, attr: String) -> Result<Expr, String> {
        if !attr
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._:$-".contains(c))
        {
            return Err(format!("invalid attribute name {attr:?}"));
        }
        self.pos += 1;
        let op = match self.toks.get(self.pos) {
            Some(Tok::Word(w)) => op_of(w).ok_or_else(|| format!("unknown operator {w:?}"))?,
            _ => return Err(format!("missing operator after {attr}")),
        };
        self.pos += 1;
        if op == Op::Pr {
            return Ok(Tree::Leaf(Cond {
                attr,
                op,
                value: Lit::Null,
            }));
        }
        let value = match self.toks.get(self.pos) {
            Some(Tok::Str(s)) => Lit::Str(s.clone()),
            Some(Tok::Word(w)) => literal_word(w)?,
            _ => return Err(format!("missing value after {attr}")),
        };
        self.pos += 1;
        Ok(Tree::Leaf(Cond { attr, op, value }))
    }
}

fn literal_word(w: &str) -> Result<Lit, String> {
    match w.to_ascii_lowercase().as_str() {
        "true" => Ok(Lit::Bool(true)),
        "false" => Ok(Lit::Bool(false)),
        "null" => Ok(Lit::Null),
        _ => w
            .parse::<f64>()
            .map(Lit::Num)
            .map_err(|_| format!("invalid value {w:?}")),
    }
}

/// Parse a whole expression; trailing tokens are an error.
pub fn parse(input: &str) -> Result<Expr, String> {
    let toks = tokenize(input)?;
    if toks.is_empty() {
        return Err("empty expression".into());
    }
    let mut p = Parser { toks, pos: 0 };
    let e = p.or_expr()?;
    if p.pos != p.toks.len() {
        return Err(format!("unexpected token {:?}", p.toks[p.pos]));
    }
    Ok(e)
}

/// Does `ord` (field compared with literal) satisfy the ordering operator?
pub fn ord_matches(op: Op, ord: Ordering) -> bool {
    match op {
        Op::Eq => ord == Ordering::Equal,
        Op::Ne => ord != Ordering::Equal,
        Op::Gt => ord == Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
        Op::Lt => ord == Ordering::Less,
        Op::Le => ord != Ordering::Greater,
        Op::Sw | Op::Co | Op::Ew | Op::Pr => false,
    }
}

/// String comparison; `lit` must already be lower-cased when `fold` is set.
pub fn str_matches(op: Op, field: &str, lit: &str, fold: bool) -> bool {
    let lowered;
    let f = if fold {
        lowered = field.to_lowercase();
        lowered.as_str()
    } else {
        field
    };
    match op {
        Op::Sw => f.starts_with(lit),
        Op::Co => f.contains(lit),
        Op::Ew => f.ends_with(lit),
        Op::Pr => true,
        _ => ord_matches(op, f.cmp(lit)),
    }
}

/// A field value looked up by attribute name, for small collections (groups, apps, realms)
/// that are evaluated without a compile step.
#[derive(Debug, Clone, PartialEq)]
pub enum Loose {
    Str(String),
    Time(i64),
}

/// Refuse attributes outside `allowed` (a trailing `*` allows a prefix).
pub fn check_attrs(t: &Expr, allowed: &[&str]) -> Result<(), String> {
    match t {
        Tree::Leaf(c) => {
            let ok = allowed.iter().any(|a| match a.strip_suffix('*') {
                Some(prefix) => c.attr.starts_with(prefix),
                None => c.attr == *a,
            });
            if ok {
                Ok(())
            } else {
                Err(format!("{} cannot be used here", c.attr))
            }
        }
        Tree::And(a, b) | Tree::Or(a, b) => check_attrs(a, allowed).and(check_attrs(b, allowed)),
        Tree::Not(a) => check_attrs(a, allowed),
    }
}

/// Evaluate with case-insensitive string matching; timestamps compare as instants.
pub fn eval_loose(t: &Expr, get: &dyn Fn(&str) -> Option<Loose>) -> bool {
    t.eval(&|c: &Cond| match (get(&c.attr), &c.value) {
        (v, _) if c.op == Op::Pr => v.is_some(),
        (Some(Loose::Str(f)), Lit::Str(l)) => str_matches(c.op, &f, &l.to_lowercase(), true),
        (Some(Loose::Time(f)), Lit::Str(l)) => {
            super::util::parse_ms(l).is_some_and(|l| ord_matches(c.op, f.cmp(&l)))
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(attr: &str, op: Op, v: &str) -> Expr {
        Tree::Leaf(Cond {
            attr: attr.into(),
            op,
            value: Lit::Str(v.into()),
        })
    }

    #[test]
    fn expressions_parse_with_and_binding_tighter_than_or() {
        let got = parse(r#"status eq "ACTIVE" or status eq "STAGED" and id sw "00u""#).unwrap();
        let want = Tree::Or(
            Box::new(leaf("status", Op::Eq, "ACTIVE")),
            Box::new(Tree::And(
                Box::new(leaf("status", Op::Eq, "STAGED")),
                Box::new(leaf("id", Op::Sw, "00u")),
            )),
        );
        assert_eq!(got, want);
    }

    #[test]
    fn parentheses_not_present_and_bare_literals_parse() {
        let e = parse(r#"not (profile.title pr) AND x GE 3 and b eq true and n eq null"#).unwrap();
        assert!(e.has_not());
        let e = parse(r#"(a eq "x\"y")"#).unwrap();
        assert_eq!(e, leaf("a", Op::Eq, "x\"y"));
    }

    #[test]
    fn malformed_expressions_are_rejected() {
        let bad = [
            "",
            "status",
            "status eq",
            r#"status equals "A""#,
            r#"(status eq "A""#,
            r#"status eq "A" junk"#,
            r#"status eq "A"#,
            r#"status eq ACTIVE"#,
            r#"a[b eq "c"] eq "d""#,
            r#"status eq "A" and"#,
        ];
        for b in bad {
            assert!(parse(b).is_err(), "{b:?} should not parse");
        }
    }

    #[test]
    fn string_operators_follow_scim() {
        let cases = [
            (Op::Eq, "Alice", "alice", true, true),
            (Op::Eq, "Alice", "alice", false, false),
            (Op::Sw, "alice@x.com", "ali", false, true),
            (Op::Co, "alice@x.com", "@x", false, true),
            (Op::Ew, "alice@x.com", ".com", false, true),
            (Op::Gt, "b", "a", false, true),
            (Op::Le, "a", "a", false, true),
            (Op::Ne, "a", "a", false, false),
        ];
        for (op, f, l, fold, want) in cases {
            assert_eq!(str_matches(op, f, l, fold), want, "{op:?} {f} {l}");
        }
    }

    #[test]
    fn loose_evaluation_resolves_attributes_by_name() {
        let e = parse(r#"profile.name co "eng" and created lt "2024-01-01T00:00:00Z""#).unwrap();
        assert!(check_attrs(&e, &["profile.*", "created"]).is_ok());
        assert!(check_attrs(&e, &["id"]).is_err());
        let get = |a: &str| match a {
            "profile.name" => Some(Loose::Str("Engineering".into())),
            "created" => Some(Loose::Time(0)),
            _ => None,
        };
        assert!(eval_loose(&e, &get));
        assert!(!eval_loose(&parse("x pr").unwrap(), &get));
    }

    #[test]
    fn trees_compile_and_evaluate() {
        let e = parse(r#"a eq "1" and not (b eq "2")"#).unwrap();
        let t: Tree<(String, String)> = e
            .compile(&|c: &Cond| match &c.value {
                Lit::Str(s) => Ok::<_, String>((c.attr.clone(), s.clone())),
                _ => Err("x".into()),
            })
            .unwrap();
        let env = |a: &str| if a == "a" { "1" } else { "3" };
        assert!(t.eval(&|(k, v): &(String, String)| env(k) == v));
    }
}
